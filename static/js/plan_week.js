// The weekly plan: keep each site's totals and floor flags in step with the numbers as they are typed.
(function () {
  "use strict";
  const belowFloor = document.currentScript.dataset.belowFloor;
  document.querySelectorAll("table.plan-grid").forEach(function (table) {
    const floor = Number(table.dataset.floor);
    const value = (cell) => {
      const input = cell.querySelector("input");
      return Number(input ? input.value : cell.textContent.trim()) || 0;
    };
    const footer = (role, day) => table.querySelector(`tfoot [data-role=${role}][data-day="${day}"]`);
    function refresh() {
      const planned = [0, 0, 0, 0, 0, 0, 0];
      table.querySelectorAll("tbody tr").forEach(function (row) {
        const cells = row.querySelectorAll("td.num:not([data-role])");
        let sum = 0;
        cells.forEach(function (cell, day) { sum += value(cell); planned[day] += value(cell); });
        row.querySelector("[data-role=row-total]").textContent = sum;
      });
      planned.forEach(function (places, day) {
        footer("planned", day).textContent = places;
        const total = places + Number(footer("taken", day).dataset.value);
        const cell = footer("total", day);
        const over = total > Number(cell.dataset.capacity);
        cell.querySelector("span").textContent = total;
        cell.classList.toggle("text-danger", over);
        cell.classList.toggle("fw-bold", over);
        const flag = footer("floor", day);
        if (flag.dataset.flagged === "1") {
          flag.innerHTML = total < floor
            ? `<span class="badge text-bg-warning">${belowFloor}</span>`
            : '<span class="badge text-bg-success">✓</span>';
        }
      });
      table.querySelector("[data-role=planned-week]").textContent = planned.reduce((a, b) => a + b, 0);
    }
    table.addEventListener("input", refresh);
  });

  // Numbers typed and not saved: say so, and ask before leaving the page without them. Save and
  // Publish… both submit this form (the server saves what is on screen before publishing).
  const form = document.getElementById("plan-form");
  const badge = document.querySelector("[data-testid=unsaved]");
  let dirty = false;
  form.addEventListener("input", function () {
    dirty = true;
    if (badge) { badge.hidden = false; }
  });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
})();
