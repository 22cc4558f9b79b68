// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function chosen(form, name) {
    var keys = [];
    form.querySelectorAll('[name="q_' + name + '"]').forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && input.checked) keys.push(input.value);
    });
    return keys;
  }
  function applyShowIf(form) {
    form.querySelectorAll("fieldset[data-show-if]").forEach(function (fieldset) {
      var parent = fieldset.getAttribute("data-show-if");
      if (!form.querySelector('[name="q_' + parent + '"]')) return; // asked on an earlier page
      var wanted = fieldset.getAttribute("data-show-if-values").split(" ");
      var show = chosen(form, parent).some(function (key) { return wanted.indexOf(key) >= 0; });
      fieldset.hidden = !show;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    document.querySelectorAll("form").forEach(function (form) {
      applyShowIf(form);
      form.addEventListener("change", function () { applyShowIf(form); });
    });
  });
})();
