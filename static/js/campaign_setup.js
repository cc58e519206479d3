// The campaign set-up form: the gap fields follow the number of doses at once.
// Without JavaScript the "show the gaps" button does the same through the server.
(function () {
  "use strict";
  var doses = document.getElementById("id_doses");
  if (!doses) {
    return;
  }
  document.querySelectorAll("[data-hide-with-js]").forEach(function (el) {
    el.hidden = true;
  });
  function show() {
    var count = parseInt(doses.value, 10) || 1;
    document.querySelectorAll("[data-gap]").forEach(function (el) {
      var hidden = parseInt(el.getAttribute("data-gap"), 10) >= count;
      el.hidden = hidden;
      if (hidden) {
        el.querySelectorAll("input").forEach(function (input) {
          input.value = "";
        });
      }
    });
    var none = document.querySelector("[data-gap-none]");
    if (none) {
      none.hidden = count > 1;
    }
  }
  doses.addEventListener("change", show);
})();
