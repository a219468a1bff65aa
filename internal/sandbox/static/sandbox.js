// Keeps the sandbox page current: every two seconds it fetches the part
// of the page that changes and swaps it in when it differs. The fragment
// is rendered by the server with every piece of text escaped.
//
// It also acts from "Slack": the responder buttons, the note form and the
// /inc box post to the sandbox, which sends the function the signed
// requests Slack would, as the person chosen under "Act as". Text the
// page builds itself goes in with textContent only.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("refresh-status");
  var form = document.getElementById("replay-form");
  var actAs = document.getElementById("act-as");
  var last = null;
  var busy = false;

  function say(text) { if (status) status.textContent = text; }

  // holding is true while someone is typing in the live part or a note
  // form is open: swapping it would lose what they typed.
  function holding() {
    var el = document.activeElement;
    return live.querySelector(".note-form") !== null ||
      (el !== null && live.contains(el) && (el.tagName === "INPUT" || el.tagName === "TEXTAREA"));
  }

  function refresh() {
    if (busy || document.hidden) return Promise.resolve();
    if (holding()) { say("paused while you type"); return Promise.resolve(); }
    busy = true;
    return fetch(live.dataset.src, { cache: "no-store" })
      .then(function (resp) {
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.text();
      })
      .then(function (html) {
        if (html !== last && !holding()) {
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

  // post sends a responder request and resolves to its JSON answer; a
  // refusal rejects with the sandbox's explanation.
  function post(path, fields) {
    var body = new URLSearchParams(fields);
    body.set("user", actAs ? actAs.value : "");
    return fetch(path, { method: "POST", body: body }).then(function (resp) {
      if (!resp.ok) return resp.text().then(function (t) { throw new Error(t.trim() || "HTTP " + resp.status); });
      return resp.json();
    });
  }

  // soon refreshes after an action, and again once PagerDuty's webhook
  // has had time to come back.
  function soon() {
    refresh();
    setTimeout(refresh, 500);
    setTimeout(refresh, 1500);
  }

  // noteForm shows the modal the function opened (views.open) under el:
  // one text field, submitted as Slack's view_submission.
  function noteForm(el, view) {
    var old = el.parentNode.querySelector(".note-form");
    if (old) old.remove();
    var f = document.createElement("form");
    f.className = "note-form";
    f.dataset.view = view.id;
    var h = document.createElement("h4");
    h.textContent = view.title || "Add a note";
    var label = document.createElement("label");
    label.textContent = view.label || "Note";
    var text = document.createElement("textarea");
    text.name = "text";
    label.appendChild(text);
    var err = document.createElement("p");
    err.className = "error";
    err.setAttribute("aria-live", "polite");
    var buttons = document.createElement("div");
    buttons.className = "form-buttons";
    var add = document.createElement("button");
    add.type = "submit";
    add.className = "button primary";
    add.textContent = view.submit || "Add";
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", function () { f.remove(); refresh(); });
    buttons.append(add, cancel);
    f.append(h, label, err, buttons);
    el.after(f);
    text.focus();
  }

  live.addEventListener("click", function (ev) {
    var b = ev.target.closest("button.act");
    if (!b || !live.contains(b)) return;
    if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
    b.disabled = true;
    post("/sandbox/act", { incident: b.dataset.incident, action: b.dataset.action })
      .then(function (ans) {
        if (ans.view) noteForm(b.closest(".b-actions"), ans.view);
        say(ans.text ? "answered" : "sent");
      })
      .catch(function (e) { say(e.message); })
      .then(function () { b.disabled = false; soon(); });
  });

  live.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f.classList.contains("note-form")) {
      ev.preventDefault();
      var err = f.querySelector(".error");
      post("/sandbox/submit", { view: f.dataset.view, text: f.querySelector("textarea").value })
        .then(function (ans) {
          var msgs = ans.errors ? Object.keys(ans.errors).map(function (k) { return ans.errors[k]; }) : [];
          if (msgs.length > 0) { err.textContent = msgs.join(" "); return; }
          f.remove();
          soon();
        })
        .catch(function (e) { err.textContent = e.message; });
    } else if (f.classList.contains("inc-form")) {
      ev.preventDefault();
      var input = f.querySelector("input");
      post("/sandbox/command", { channel: f.dataset.channel, text: input.value })
        .then(function (ans) {
          input.value = "";
          input.blur();
          if (ans.view) {
            var ch = f.closest(".channel");
            var root = ch && ch.querySelector(".message.root");
            noteForm(root ? root.lastElementChild : f, ans.view);
          }
        })
        .catch(function (e) { say(e.message); })
        .then(soon);
    }
  });

  setInterval(refresh, 2000);
  document.addEventListener("visibilitychange", refresh);
  refresh();
})();
