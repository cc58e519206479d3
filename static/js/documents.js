// The identity document fields (templates/residents/document_fields.html): show birth date, sex
// and nationality only when the chosen document type asks for them, give the number field the
// type's placeholder, and preview the number again when the type changes. Without this script
// every field stays visible and the server says which one is missing.
(function () {
  "use strict";

  const kindsElement = document.getElementById("document-kinds");
  const form = document.querySelector("[data-document-form]");
  if (!kindsElement || !form) return;
  const kinds = JSON.parse(kindsElement.textContent);
  const type = form.querySelector("#id_document_type");
  const number = form.querySelector("#id_id_number");
  const holder = form.querySelector("[data-holder-fields]");
  const help = form.querySelector("[data-holder-help]");
  // The 2023 foreign permanent resident card gives birth date and sex; the older one does not.
  const encodingForeignCard = /^\s*9[0-9]{16}[0-9xX]\s*$/;

  function hasError(part) {
    return part.querySelector(".is-invalid, .invalid-feedback") !== null;
  }

  function update() {
    const kind = kinds[type.value] || kinds.id_card;
    const birth = kind.birth === "entered" || (kind.birth === "depends" && !encodingForeignCard.test(number.value));
    let shown = 0;
    form.querySelectorAll("[data-needs]").forEach(function (part) {
      // A field the server found a problem with stays in sight, whatever the type says.
      const needed = (part.dataset.needs === "birth" ? birth : kind.nationality) || hasError(part);
      part.hidden = !needed;
      if (needed) shown += 1;
    });
    holder.hidden = shown === 0;
    if (help) help.hidden = true; // the fields shown are the ones asked for
    number.placeholder = kind.placeholder || "";
  }

  type.addEventListener("change", function () {
    update();
    if (window.htmx) window.htmx.trigger(number, "document-type-changed");
  });
  number.addEventListener("input", update);
  update();
})();
