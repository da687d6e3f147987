// A card whose content is wider than the screen (a table on a phone) scrolls on its own.
// Keyboard users must be able to scroll it too, so such a card takes the focus (Tab, then
// the arrow keys); one that fits is left out of the tab order.
function markScrollingCards() {
  for (const card of document.querySelectorAll(".card")) {
    if (card.scrollWidth > card.clientWidth + 1) card.setAttribute("tabindex", "0");
    else if (card.getAttribute("tabindex") === "0") card.removeAttribute("tabindex");
  }
}
document.addEventListener("DOMContentLoaded", markScrollingCards);
window.addEventListener("resize", markScrollingCards);
document.addEventListener("htmx:afterSettle", markScrollingCards);
