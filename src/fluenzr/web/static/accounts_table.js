// "Cuentas de Email": the header checkbox ticks every row of this page; ticking "all matching"
// greys the row boxes out (the action then takes the whole filter). Works without it too.
(function () {
  "use strict";
  var form = document.getElementById("bulk");
  if (!form) { return; }
  var boxes = function () { return form.querySelectorAll('input[name="account_id"]'); };
  var all = document.getElementById("pick-page");
  var scope = document.getElementById("bulk-scope");
  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = all.checked; });
    });
  }
  if (scope) {
    scope.addEventListener("change", function () {
      boxes().forEach(function (box) { box.disabled = scope.checked; });
      if (all) { all.disabled = scope.checked; }
    });
  }
})();
