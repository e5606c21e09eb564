// PHI Warden's only script besides htmx: confirmation for destructive buttons.
// Loaded from a file (CSP forbids inline script); no data leaves the page.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
