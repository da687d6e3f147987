// A region whose content is wider than the screen (a table on a phone) scrolls on its own.
// Keyboard users must be able to scroll it too, so such a region takes the focus (Tab, then
// the arrow keys); one that fits is left out of the tab order again.
function scrollsSideways(element) {
  const overflow = getComputedStyle(element).overflowX;
  return (overflow === "auto" || overflow === "scroll") &&
    element.scrollWidth > element.clientWidth + 1;
}
function markScrollingRegions() {
  for (const element of document.querySelectorAll("main section, main div, main .card")) {
    if (scrollsSideways(element)) {
      if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "0");
    } else if (element.getAttribute("tabindex") === "0" && !element.matches("a, button, input, select, textarea, [role]")) {
      element.removeAttribute("tabindex");
    }
  }
}
document.addEventListener("DOMContentLoaded", markScrollingRegions);
window.addEventListener("resize", markScrollingRegions);
document.addEventListener("htmx:afterSettle", markScrollingRegions);
