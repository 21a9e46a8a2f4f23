// The open conversation keeps its newest messages in view: on load, and after each live update
// when the reader was already at the bottom (someone reading older messages is not moved).
(function () {
  var stick = true;
  function thread() { return document.getElementById("thread"); }
  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }
  function toBottom() { var el = thread(); if (el) { el.scrollTop = el.scrollHeight; } }
  document.addEventListener("DOMContentLoaded", toBottom);
  document.addEventListener("htmx:beforeSwap", function () {
    var el = thread();
    stick = !el || atBottom(el);
  });
  document.addEventListener("htmx:afterSettle", function () { if (stick) { toBottom(); } });
})();
