// The account form: a well-known port picks its encryption (465 → SSL, 587 → TLS, 993, 143)
// with a note, and a mismatch between the two is shown while typing, not only on save.
// The port → encryption table and the messages (in the page's language) come from the form's
// data attributes; without JavaScript the server still checks the pair on save.
(function () {
  "use strict";

  function form() {
    return document.getElementById("account-form");
  }

  function table(f) {
    try {
      return JSON.parse(f.dataset.portSecurity || "{}");
    } catch (e) {
      return {};
    }
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function label(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) return select.options[i].text.trim();
    }
    return value;
  }

  function note(select, text, kind) {
    var el = document.getElementById(select.id + "-note");
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
    el.className = "port-note" + (kind ? " " + kind : "");
  }

  function selectFor(port) {
    return document.getElementById(port.id.replace(/_port$/, "_security"));
  }

  // The port was typed: a well-known one switches the encryption, and says so.
  function portTyped(port) {
    var f = form();
    var select = selectFor(port);
    if (!f || !select) return;
    var expected = table(f)[String(parseInt(port.value, 10))];
    if (!expected) {
      check(select);
      return;
    }
    if (select.value !== expected && select.value !== "none") {
      select.value = expected;
      note(select, fill(f.dataset.switched, { port: port.value, mode: label(select, expected) }), "switched");
      return;
    }
    check(select);
  }

  // The encryption (or the port) changed: warn when the pair does not go together.
  function check(select) {
    var f = form();
    var port = document.getElementById(select.dataset.port || "");
    if (!f || !port) return;
    var expected = table(f)[String(parseInt(port.value, 10))];
    if (expected && select.value && select.value !== "none" && select.value !== expected) {
      note(
        select,
        fill(f.dataset.mismatch, {
          port: port.value,
          expected: label(select, expected),
          given: label(select, select.value),
        }),
        "mismatch"
      );
    } else {
      // The pair matches: a mismatch warning goes; a "switched to …" note stays.
      var el = document.getElementById(select.id + "-note");
      if (el && el.classList.contains("mismatch")) note(select, "", "");
    }
  }

  document.addEventListener("input", function (event) {
    var t = event.target;
    if (t && t.id && /^(smtp|imap)_port$/.test(t.id)) portTyped(t);
  });
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && t.id && /^(smtp|imap)_security$/.test(t.id)) check(t);
  });
  // On load (a form shown again, an edited account) and after htmx swapped fields in (preset
  // picker, "Detectar"), the pair is checked again.
  function checkAll() {
    ["smtp_security", "imap_security"].forEach(function (id) {
      var select = document.getElementById(id);
      if (select) check(select);
    });
  }
  document.addEventListener("htmx:afterSettle", checkAll);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", checkAll);
  } else {
    checkAll();
  }
})();
