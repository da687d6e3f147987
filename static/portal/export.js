// "Download CSV" on a filtered list: export what the filters show now. The list
// filters in place (htmx), so the link's server-rendered query may be stale by the
// time it is clicked; it is rebuilt from the filter form at the click.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-export-form]");
  if (!link) return;
  const form = document.getElementById(link.dataset.exportForm);
  if (!form) return;
  const query = new URLSearchParams(new FormData(form)).toString();
  link.href = link.href.split("?")[0] + (query ? "?" + query : "");
});
