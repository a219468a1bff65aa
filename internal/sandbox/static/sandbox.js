// Keeps the sandbox page current: every two seconds it fetches the part
// of the page that changes and swaps it in when it differs. The fragment
// is rendered by the server with every piece of text escaped.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("refresh-status");
  var form = document.getElementById("replay-form");
  var last = null;
  var busy = false;

  function say(text) { if (status) status.textContent = text; }

  function refresh() {
    if (busy || document.hidden) return Promise.resolve();
    busy = true;
    return fetch(live.dataset.src, { cache: "no-store" })
      .then(function (resp) {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.text();
      })
      .then(function (html) {
        if (html !== last) {
          last = html;
          live.innerHTML = html;
        }
        say("live · " + new Date().toLocaleTimeString());
      })
      .catch(function () { say("sandbox not reachable"); })
      .then(function () { busy = false; });
  }

  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      // The pressed button names the sample to replay.
      var pressed = ev.submitter || form.querySelector("button");
      var body = new URLSearchParams();
      if (pressed && pressed.name) body.set(pressed.name, pressed.value);
      var buttons = form.querySelectorAll("button");
      buttons.forEach(function (b) { b.disabled = true; });
      fetch(form.action, { method: "POST", body: body })
        .then(function (resp) { if (!resp.ok) throw new Error("HTTP " + resp.status); })
        .catch(function () { say("replay failed to start"); })
        .then(function () {
          setTimeout(function () { buttons.forEach(function (b) { b.disabled = false; }); }, 1500);
          return refresh();
        });
    });
  }

  setInterval(refresh, 2000);
  document.addEventListener("visibilitychange", refresh);
  refresh();
})();
