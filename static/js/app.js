// Small behaviours every page may use, declared in the markup with data- attributes.
// The Content-Security-Policy refuses inline scripts and on...= handlers, so they live here.
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing sends its form (the language, a village).
  document.addEventListener("change", function (event) {
    const field = event.target;
    if (field.matches && field.matches("[data-submit-on-change]") && field.form) field.form.submit();
  });

  // <form data-confirm="question">: sent only when the user confirms.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!target.closest) return;
    // <button data-print>: the browser's print dialog.
    if (target.closest("[data-print]")) window.print();
    // <input type=checkbox data-tick-all="selector">: ticks or unticks every box the selector finds.
    const all = target.closest("[data-tick-all]");
    if (all) {
      document.querySelectorAll(all.dataset.tickAll).forEach(function (box) { box.checked = all.checked; });
    }
  });

  // <form data-bootstrap-selects>: django-filter renders plain selects; give them Bootstrap's look.
  document.querySelectorAll("[data-bootstrap-selects] select").forEach(function (select) {
    select.classList.add("form-select");
  });
})();
