// Launchpad's live parts, without a page reload and without a framework.
//
// [data-refresh="url"]: the element is replaced by what GET url returns, every 1.5 s, for as long as the
//   new element still carries data-refresh (the server drops it when nothing will change any more).
// [data-tail="url"][data-after="N"]: GET url?after=N returns the rows after row N; they are appended.
//   The response header X-Run-Finished: true means no new rows will come once the last ones are read.
(function () {
  "use strict";

  var INTERVAL = 1500;
  // A form's CSRF token differs on every render: it is not a change worth redrawing for.
  var TOKEN = /name="csrfmiddlewaretoken" value="[^"]*"/g;

  function get(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } });
  }

  function editing(element) {
    var active = document.activeElement;
    return active && element.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  function refresh(element, previous) {
    window.setTimeout(function () {
      if (!element.isConnected) return;
      if (editing(element)) return refresh(element, previous);
      get(element.dataset.refresh)
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          var comparable = html.replace(TOKEN, "");
          if (comparable === previous) return refresh(element, previous);
          var holder = document.createElement("template");
          holder.innerHTML = html.trim();
          var replacement = holder.content.firstElementChild;
          element.replaceWith(replacement);
          if (replacement.dataset.refresh) refresh(replacement, comparable);
        })
        .catch(function () {
          window.setTimeout(function () { refresh(element, previous); }, INTERVAL * 2);
        });
    }, INTERVAL);
  }

  function tail(element) {
    var quietPolls = 0;
    function atBottom() {
      return element.scrollHeight - element.scrollTop - element.clientHeight < 40;
    }
    function poll() {
      var url = element.dataset.tail + "?after=" + encodeURIComponent(element.dataset.after || "0");
      get(url)
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          var finished = response.headers.get("X-Run-Finished") === "true";
          return response.text().then(function (html) { return { html: html, finished: finished }; });
        })
        .then(function (result) {
          var holder = document.createElement("template");
          holder.innerHTML = result.html.trim();
          var rows = holder.content.querySelectorAll("[data-seq]");
          var follow = atBottom();
          if (rows.length) {
            var empty = element.querySelector(".log-empty");
            if (empty) empty.remove();
            element.append(holder.content);
            element.dataset.after = rows[rows.length - 1].dataset.seq;
            if (follow) element.scrollTop = element.scrollHeight;
          }
          // The worker writes its last lines just after the run ends: a few more polls collect them.
          quietPolls = result.finished && !rows.length ? quietPolls + 1 : 0;
          if (quietPolls < 3) window.setTimeout(poll, rows.length ? 300 : INTERVAL);
          else element.dataset.finished = "true";
        })
        .catch(function () { window.setTimeout(poll, INTERVAL * 2); });
    }
    element.scrollTop = element.scrollHeight;
    if (element.dataset.finished !== "true") window.setTimeout(poll, INTERVAL);
  }

  function start() {
    document.querySelectorAll("[data-refresh]").forEach(function (element) { refresh(element, null); });
    document.querySelectorAll("[data-tail]").forEach(tail);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
