// Progressive enhancement: show one "Name on ticket N" field per ticket chosen. Without this
// file every field shows, and the server refuses a name for a ticket not chosen.
(function () {
  "use strict";
  var form = document.querySelector("form.buy-form");
  var slots = form ? form.querySelectorAll("[data-ticket-name]") : [];
  if (!slots.length) { return; }
  var quantities = form.querySelectorAll("input[name^='qty-']");
  function update() {
    var total = 0;
    quantities.forEach(function (input) {
      var n = parseInt(input.value, 10);
      if (n > 0) { total += n; }
    });
    slots.forEach(function (slot) {
      var n = parseInt(slot.getAttribute("data-ticket-name"), 10);
      var input = slot.querySelector("input");
      slot.hidden = n > Math.max(total, 1) && !(input && input.value);
    });
  }
  quantities.forEach(function (input) { input.addEventListener("input", update); });
  update();
})();
