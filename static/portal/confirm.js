// Ask before a step that is hard to undo: a submit button (or its form) with
// data-confirm="question" submits only when the person says OK. Without scripts
// the form submits as before; the server's rules do not depend on this.
document.addEventListener("submit", (event) => {
  const question = event.submitter?.dataset.confirm || event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
