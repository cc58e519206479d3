// The booking page: when another day is picked, show that day's free places and the village's plan places.
(function () {
  "use strict";
  const picker = document.getElementById("id_day");
  const box = document.querySelector("[data-testid=picked-day]");
  if (!picker || !box) { return; }
  const part = (role) => box.querySelector(`[data-role=${role}]`);
  picker.addEventListener("change", function () {
    const option = picker.selectedOptions[0];
    if (!option || !option.value) { box.hidden = true; return; }
    const plan = option.dataset.plan;
    part("free").textContent = option.dataset.free;
    part("plan").textContent = plan || "—";
    part("filled").textContent = option.dataset.filled;
    part("open").textContent = option.dataset.open;
    part("plan-detail").hidden = !plan;
    part("no-plan").hidden = Boolean(plan);
    box.hidden = false;
  });
})();
