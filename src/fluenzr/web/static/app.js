// FluenzR: small progressive enhancements (every page works without this file).
// - form checks in the page's language instead of the browser's own bubbles;
// - the username follows the email on "+ SMTP" until the user types one;
// - the time zone list offers the browser's zone first;
// - the sending-window days and hours are disabled while the window is off.
(function () {
  "use strict";
  var body = document.body;
  var msg = function (name, fallback) { return (body && body.dataset[name]) || fallback; };

  function problem(input) {
    var v = input.validity;
    if (!v || v.valid) { return ""; }
    if (v.valueMissing) { return msg("msgRequired", "Required"); }
    if (v.typeMismatch && input.type === "email") { return msg("msgEmail", "Invalid email"); }
    if (v.tooShort) { return msg("msgMinlength", "Too short").replace("{min}", input.minLength); }
    if (v.rangeUnderflow || v.rangeOverflow || v.badInput || v.stepMismatch) {
      return msg("msgRange", "Out of range").replace("{min}", input.min || "").replace("{max}", input.max || "");
    }
    return msg("msgInvalid", "Invalid value");
  }

  function clearError(input) {
    var old = document.getElementById(input.id + "-client-error");
    if (old) { old.remove(); }
    if (input.dataset.clientInvalid) {
      input.removeAttribute("aria-invalid");
      delete input.dataset.clientInvalid;
    }
  }

  function showError(input, text) {
    clearError(input);
    var p = document.createElement("p");
    p.className = "field-error";
    p.id = input.id + "-client-error";
    p.setAttribute("role", "alert");
    p.textContent = text;
    input.insertAdjacentElement("afterend", p);
    input.setAttribute("aria-invalid", "true");
    input.dataset.clientInvalid = "1";
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(p.id) < 0) { described.push(p.id); }
    input.setAttribute("aria-describedby", described.join(" "));
  }

  function checkForm(form, event) {
    var first = null;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.id || !el.willValidate || el.disabled) { return; }
      var text = problem(el);
      if (text) { showError(el, text); first = first || el; } else { clearError(el); }
    });
    if (first) { event.preventDefault(); event.stopPropagation(); first.focus(); }
  }

  document.querySelectorAll("form").forEach(function (form) {
    form.noValidate = true;  // our messages, in the page's language
    form.addEventListener("submit", function (event) {
      var by = event.submitter;
      if (by && (by.formNoValidate || by.hasAttribute("formnovalidate"))) { return; }
      checkForm(form, event);
    }, true);
  });
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el && el.dataset && el.dataset.clientInvalid && !problem(el)) { clearError(el); }
  });

  // The username is the email unless the user typed another one.
  var email = document.getElementById("email");
  var username = document.getElementById("username");
  if (email && username && document.getElementById("account-form")) {
    var follow = username.value === "" || username.value === email.value;
    username.addEventListener("input", function () { follow = username.value === "" || username.value === email.value; });
    email.addEventListener("input", function () {
      var current = document.getElementById("username");  // htmx may have swapped it
      if (follow && current) { current.value = email.value; }
    });
  }

  // The browser's time zone first in the list, and named under the field.
  var tz = document.getElementById("timezone");
  var list = document.getElementById("tz-list");
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  if (tz && list && zone) {
    var option = list.querySelector('option[value="' + zone.replace(/"/g, "") + '"]');
    if (option) { list.insertBefore(option, list.firstChild); }
    var note = document.getElementById("tz-browser");
    if (note) {
      var label = (tz.dataset.browserZoneLabel || "{zone}").replace("{zone}", zone);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.id = "tz-use-browser";
      button.textContent = label;
      button.addEventListener("click", function () { tz.value = zone; tz.focus(); });
      note.appendChild(button);
    }
  }

  // Sending window: days and hours are disabled while "only in this window" is off.
  document.querySelectorAll("fieldset.window").forEach(function (set) {
    var toggle = set.querySelector('input[name="window"]');
    if (!toggle) { return; }
    var sync = function () {
      set.querySelectorAll('input[name="days"], input[name="start"], input[name="end"]').forEach(function (el) {
        el.disabled = !toggle.checked;
      });
      set.classList.toggle("off", !toggle.checked);
    };
    toggle.addEventListener("change", sync);
    sync();
  });
})();
