// Live status without page reloads: poll the API for workspaces that are changing.
(() => {
  const MOVING = new Set(["pending", "starting", "stopping"]);
  const rows = document.querySelectorAll("[data-workspace]");
  // Reached from Launch or Start with "open JupyterLab when it is ready": the page opens the lab itself once the
  // server answers. The address loses its ?open=lab at once, so Back from the lab stays on this page.
  const openLab = (element) => {
    const link = document.querySelector('[data-field="open"]');
    if (element.dataset.openLabWhenReady !== undefined && link) window.location.assign(link.href);
  };
  if (new URLSearchParams(window.location.search).get("open") === "lab") {
    window.history.replaceState(null, "", window.location.pathname);
  }
  async function refresh(element) {
    const response = await fetch(`/api/v1/workspaces/${element.dataset.workspace}/`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const workspace = await response.json();
    const status = element.querySelector('[data-field="status"]');
    status.textContent = workspace.status;
    status.className = `badge status-${workspace.status}`;
    const message = element.querySelector('[data-field="status_message"]');
    if (message) message.textContent = workspace.status_message;
    const bar = element.querySelector('[data-field="progress"]');
    if (bar) {
      bar.hidden = !["pending", "starting"].includes(workspace.status);
      bar.setAttribute("aria-valuenow", workspace.progress);
      bar.querySelector(".bar").style.width = `${workspace.progress}%`;
    }
    document.querySelectorAll('[data-field="open"]').forEach((link) => { link.hidden = workspace.status !== "running"; });
    if (workspace.status === "running") openLab(element);
    // A start on its own page is followed closely (the person is waiting to open it); lists and stops less so.
    const waiting = element.dataset.detail !== undefined && workspace.status !== "stopping";
    if (MOVING.has(workspace.status)) setTimeout(() => refresh(element), waiting ? 250 : 1000);
    else if (element.dataset.detail !== undefined && workspace.status === "failed") window.location.reload();
  }
  // The bar's width comes from aria-valuenow: no inline style, which the pages' CSP forbids.
  document.querySelectorAll('[data-field="progress"]').forEach((bar) => {
    bar.querySelector(".bar").style.width = `${bar.getAttribute("aria-valuenow")}%`;
  });
  rows.forEach((element) => {
    const status = element.querySelector('[data-field="status"]')?.textContent.trim();
    if (MOVING.has(status)) setTimeout(() => refresh(element), element.dataset.detail !== undefined ? 100 : 250);
    else if (status === "running") openLab(element);  // it was up before this page came
  });
})();
