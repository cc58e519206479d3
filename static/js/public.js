/* The residents' booking pages: a few behaviours, written for old phone browsers (WeChat's included):
   no modules, no arrow functions, no fetch. */
(function () {
  "use strict";

  // <select data-submit-on-change>: choosing sends its form (the language).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-submit-on-change") && field.form) field.form.submit();
  });

  // <button data-countdown="60" data-countdown-text="again in %s s">: disabled until the count reaches 0.
  var buttons = document.querySelectorAll("[data-countdown]");
  Array.prototype.forEach.call(buttons, function (button) {
    var left = parseInt(button.getAttribute("data-countdown"), 10) || 0;
    var label = button.textContent;
    var template = button.getAttribute("data-countdown-text") || "%s";
    if (left <= 0) return;
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = template.replace("%s", left);
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  });

  // The captcha: a new picture on a tap of the picture or of the button (django-simple-captcha's refresh).
  function refreshCaptcha(box) {
    var button = box.querySelector("[data-captcha-refresh]");
    var request = new XMLHttpRequest();
    request.open("GET", button.getAttribute("data-captcha-refresh"));
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    request.onload = function () {
      if (request.status !== 200) return;
      var data = JSON.parse(request.responseText);
      box.querySelector("img.captcha").src = data.image_url;
      box.querySelector("input[type=hidden]").value = data.key;
      var answer = box.querySelector("input[type=text]");
      answer.value = "";
      answer.focus();
    };
    request.send();
  }
  var boxes = document.querySelectorAll(".public-captcha");
  Array.prototype.forEach.call(boxes, function (box) {
    box.addEventListener("click", function (event) {
      if (event.target.matches("img.captcha, [data-captcha-refresh]")) {
        event.preventDefault();
        refreshCaptcha(box);
      }
    });
  });
})();
