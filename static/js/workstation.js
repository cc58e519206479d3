// The site workstation: the scan box keeps the focus, and observation time counts down in the browser.
(function () {
  "use strict";
  const scan = document.getElementById("scan-input");

  function focusScan(select) {
    if (!scan) return;
    scan.focus();
    if (select) scan.select();
  }

  // After a panel is swapped in: focus its next field, or come back to the scan box.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "person") return;
    if (scan && target.querySelector("[data-checked-in]")) scan.value = "";
    const next = target.querySelector("[data-focus]");
    if (next) next.focus();
    else focusScan(true);
  });

  // A release answers with no content: back to the scan box.
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute("data-release")) focusScan(false);
  });

  // A page opened on one person's step (after a plain form post): that step's field first.
  const opened = document.querySelector("#person [data-focus]");
  if (opened) opened.focus();

  if (scan) {
    // Esc always comes back to the scan box.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        focusScan(true);
        return;
      }
      // A scanner "types" wherever the focus is: characters typed outside any text field go to the scan box.
      const active = document.activeElement;
      const typing = active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && !/^(checkbox|radio|submit|button)$/.test(active.type));
      const printable = event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey;
      if (!typing && printable) focusScan(false);
    });
    // When nothing has the focus (a click on the page, a list refreshed), it goes back to the scan box.
    document.addEventListener("focusout", function () {
      setTimeout(function () {
        if (!document.activeElement || document.activeElement === document.body) focusScan(false);
      }, 0);
    });
  }

  // Observation countdown, against the server's clock (a tablet's clock may be off).
  function tick() {
    document.querySelectorAll("table[data-server-now]").forEach(function (table) {
      if (!table.dataset.offset) table.dataset.offset = String(Number(table.dataset.serverNow) * 1000 - Date.now());
      const now = Date.now() + Number(table.dataset.offset);
      table.querySelectorAll("tr[data-until]").forEach(function (row) {
        const left = Number(row.dataset.until) * 1000 - now;
        const clock = row.querySelector("[data-countdown]");
        const label = row.querySelector("[data-countdown-label]");
        const form = row.querySelector("form[data-release]");
        if (left > 0) {
          const seconds = Math.ceil(left / 1000);
          clock.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
          label.textContent = table.dataset.textLeft;
          row.classList.remove("overdue");
          if (form) form.setAttribute("hx-confirm", table.dataset.confirmEarly);
        } else {
          const over = Math.floor(-left / 60000);
          clock.textContent = "+" + over + "′";
          label.textContent = table.dataset.textOver;
          row.classList.add("overdue");
          if (form) form.removeAttribute("hx-confirm");
        }
      });
    });
  }
  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:afterSwap", tick);
})();
