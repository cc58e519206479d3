/* One person's page: ask before cancelling, and send a booking once however often it is tapped.
   Written for old phone browsers (WeChat's included): no modules, no arrow functions. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = form.querySelector("button[type=submit]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.getAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
    if (button) button.classList.add("disabled");
  });
})();
