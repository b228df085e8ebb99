// The page's only script of its own: the "data age" clock ticks every second between updates, and
// each slider shows its value as it moves. Everything else is htmx.
(function () {
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-since"));
      if (!isNaN(since)) {
        el.textContent = Math.max(0, Math.round((Date.now() - since) / 1000)) + " s";
      }
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type === "range") {
      var output = document.querySelector('output[for="' + input.id + '"]');
      if (output) output.textContent = input.value;
    }
  });
})();
