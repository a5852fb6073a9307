// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";
  // Move focus to the error summary so screen readers announce it (GOV.UK pattern).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }
  // Stop a second press sending the form twice; the server is idempotent anyway.
  document.querySelectorAll("form[data-prevent-double-submit]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.submitted) { event.preventDefault(); return; }
      form.dataset.submitted = "1";
      setTimeout(function () { delete form.dataset.submitted; }, 5000);
    });
  });
})();
