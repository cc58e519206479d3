// A long job's progress bar (templates/campaign/job_progress.html, campaign/lib/jobs.py).
// Every element with data-progress-url is followed: its JSON status ({finished, percent, done,
// total, text}) is read every second and moves the bar; once the job is finished, the HTML at
// data-progress-result takes the element's place (the same element keeps its id and live region,
// so a screen reader announces the result), or the page reloads when there is no such URL.
// No inline script or handler anywhere: the Content-Security-Policy refuses them.
(function () {
  "use strict";
  var EVERY = 1000; // ms between two reads while all goes well
  var SLOWEST = 10000; // a server that does not answer is asked less and less often, down to this

  function show(box, state) {
    var bar = box.querySelector("[data-progress-bar]");
    var text = box.querySelector("[data-progress-text]");
    var percent = Math.max(0, Math.min(100, Number(state.percent) || 0));
    if (bar) {
      bar.setAttribute("aria-valuenow", String(percent));
      bar.setAttribute("aria-valuetext", state.text || "");
      var fill = bar.querySelector(".progress-bar");
      if (fill) fill.style.width = percent + "%";
    }
    if (text && state.text) text.textContent = state.text;
  }

  function replaceWith(box, html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var fresh = holder.content.firstElementChild;
    if (!fresh || (box.id && fresh.id !== box.id)) {
      window.location.reload();
      return;
    }
    // The element stays (with its live region); its attributes and content become the result's.
    Array.prototype.slice.call(box.attributes).forEach(function (attribute) {
      box.removeAttribute(attribute.name);
    });
    Array.prototype.slice.call(fresh.attributes).forEach(function (attribute) {
      box.setAttribute(attribute.name, attribute.value);
    });
    box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes));
    follow(box); // a result that is itself a job to follow (it carries data-progress-url again)
  }

  function finish(box, resultUrl) {
    if (!resultUrl) {
      window.location.reload();
      return;
    }
    fetch(resultUrl, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) { replaceWith(box, html); })
      .catch(function () { window.location.reload(); });
  }

  function follow(box) {
    var url = box.getAttribute("data-progress-url");
    if (!url) return;
    var resultUrl = box.getAttribute("data-progress-result");
    var wait = EVERY;

    function read() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          // A login page (the session ended) or an error is not a status: try again a little later.
          if (!response.ok || response.redirected) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (state) {
          show(box, state);
          wait = EVERY;
          if (state.finished) finish(box, resultUrl);
          else window.setTimeout(read, wait);
        })
        .catch(function () {
          wait = Math.min(SLOWEST, wait * 2);
          window.setTimeout(read, wait);
        });
    }

    window.setTimeout(read, EVERY);
  }

  document.querySelectorAll("[data-progress-url]").forEach(follow);
})();
