// Keyboard review of legacy customers (the identity page): a key runs the control marked
// data-shortcut="<key>" (a: accept the best candidate, s: skip, x: not ours). Not while
// typing in a field; without scripts the buttons do the same.
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
  if (event.target.closest("input, textarea, select, [contenteditable]")) return;
  const control = document.querySelector(`[data-shortcut="${event.key}"]`);
  if (control) {
    event.preventDefault();
    control.click();
  }
});
