// The platform's JupyterLab extension, written as a module-federation container by hand (no build
// step): JupyterLab loads this script, calls init() with its shared modules, then get("./extension").
// It adds a link back to the portal, a "Share…" button and command (the portal's publish page for the notebook in
// front), and shows the portal's automatic-stop warnings (idle culling,
// budget) with the same "Keep running" the portal offers. The lab runs on the workspace's own origin
// (per-user subdomains), never the portal's: it reaches the portal with this run's lab grant from the
// page config (workspaces/lab_access.py), not with the person's portal session.
(function () {
  "use strict";
  var NAME = "@datascience-workspaces/lab";
  var POLL_MS = 30000;
  var shareScope = null;

  function shared(name) {
    // A singleton JupyterLab shares (e.g. @lumino/widgets): the very instance the lab runs on.
    var versions = (shareScope && shareScope[name]) || {};
    var newest = Object.keys(versions).sort(function (a, b) {
      return a.localeCompare(b, undefined, { numeric: true });
    }).pop();
    if (!newest) return Promise.reject(new Error(NAME + ": JupyterLab shares no " + name));
    return Promise.resolve(versions[newest].get()).then(function (factory) { return factory(); });
  }

  function pageConfig() {
    var node = document.getElementById("jupyter-config-data");
    return node ? JSON.parse(node.textContent || "{}") : {};
  }

  function localTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text) node.textContent = text;
    return node;
  }

  var STYLE = [
    "#dsw-portal-link { display: flex; align-items: center; padding: 0 10px; font-size: var(--jp-ui-font-size1); }",
    "#dsw-portal-link a { color: var(--jp-ui-font-color1); text-decoration: none; white-space: nowrap; }",
    "#dsw-portal-link a:hover { text-decoration: underline; }",
    "#dsw-share { display: flex; align-items: center; padding: 0 6px; }",
    "#dsw-share button { font-size: var(--jp-ui-font-size1); padding: 1px 10px; cursor: pointer; }",
    // Lumino sizes the header area from its children's CSS min-height: without one the banner gets
    // no room and sits under the top bar. One line, then, cut with an ellipsis on narrow screens.
    "#dsw-stop-warning { display: flex; gap: 12px; align-items: center; padding: 0 12px; box-sizing: border-box;",
    "  min-height: 36px; max-height: 36px; background: var(--jp-warn-color3); color: var(--jp-ui-font-color0);",
    "  font-size: var(--jp-ui-font-size1); border-bottom: 1px solid var(--jp-warn-color1); }",
    "#dsw-stop-warning span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }",
    "#dsw-stop-warning button { font: inherit; padding: 2px 10px; cursor: pointer; }",
  ].join("\n");

  function activate(app) {
    var config = pageConfig();
    // The hub names a workspace's server "ws-<workspace id>" (Workspace.server_name in the portal).
    var match = /^ws-(\d+)$/.exec(config.hubServerName || "");
    if (!match) return;
    var id = match[1];
    var portal = (config.dswPortalUrl || "").replace(/\/$/, "");
    if (!portal || !config.dswLabGrant) return;
    var api = portal + "/api/v1/workspaces/" + id + "/lab/";
    var authorization = { "Authorization": "Lab " + config.dswLabGrant, "Accept": "application/json" };
    document.head.appendChild(element("style", { id: "dsw-style" }, STYLE));

    return shared("@lumino/widgets").then(function (widgets) {
      var link = new widgets.Widget();
      link.id = "dsw-portal-link";
      link.node.appendChild(element("a", { href: portal + "/workspaces/" + id + "/", title: "This workspace in the portal" },
                                    "← Back to the portal"));
      app.shell.add(link, "top", { rank: 50 });

      // "Share…": the portal's publish page for the notebook in front, in a new tab. The person confirms there,
      // with their portal session: nothing in the lab (whose code may be hostile) holds a credential that publishes.
      function currentNotebookPath() {
        var widget = app.shell.currentWidget;
        var path = widget && widget.context && widget.context.path;
        return path && /\.ipynb$/.test(path) ? path : "";
      }
      app.commands.addCommand("dsw:share", {
        label: "Share…",
        caption: "Publish this notebook from the portal: versions, people, teams, links",
        execute: function () {
          var path = currentNotebookPath();
          window.open(portal + "/shares/publish/?workspace=" + id + (path ? "&path=" + encodeURIComponent(path) : ""),
                      "_blank", "noopener");
        },
      });
      app.contextMenu.addItem({ command: "dsw:share", selector: ".jp-Notebook", rank: 0 });
      var share = new widgets.Widget();
      share.id = "dsw-share";
      var shareButton = element("button", { type: "button", class: "jp-mod-styled", title: "Publish this notebook from the portal" },
                                "Share…");
      shareButton.addEventListener("click", function () { app.commands.execute("dsw:share"); });
      share.node.appendChild(shareButton);
      app.shell.add(share, "top", { rank: 51 });

      var banner = null;
      function show(content) {
        if (banner === null) {
          banner = new widgets.Widget();
          banner.id = "dsw-stop-warning";
          banner.node.setAttribute("role", "alert");
          app.shell.add(banner, "header");
        }
        banner.node.replaceChildren.apply(banner.node, content);
        banner.show();
      }
      function hide() { if (banner !== null) banner.hide(); }

      function keepRunning(button) {
        button.disabled = true;
        fetch(api + "keep-running/", { method: "POST", credentials: "omit", headers: authorization })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.detail || "The portal refused: " + response.status);
            render(body);
          });
        }).catch(function (error) {
          button.disabled = false;
          show([element("span", {}, String(error.message || error))]);
        });
      }

      function render(workspace) {
        var warning = workspace.cull_warning, budget = workspace.budget_stop;
        if (budget) {
          show([element("span", {}, "The team's budget is used up: this workspace stops at " + localTime(budget.deadline) +
                        " unless the budget is raised. Your files are kept."),
                element("a", { href: portal + "/costs/" }, "Costs")]);
        } else if (warning) {
          var parts = [element("span", {}, workspace.name + " stops at " + localTime(warning.deadline) + " (" + warning.reason +
                                           ") unless you use it. Your files are kept.")];
          if (warning.can_keep_running) {
            var button = element("button", { type: "button", class: "jp-mod-styled jp-mod-accept" }, "Keep running");
            button.addEventListener("click", function () { keepRunning(button); });
            parts.push(button);
          } else {
            parts.push(element("span", {}, "It was already kept running once; run something in it to keep it alive."));
          }
          show(parts);
        } else {
          hide();
        }
      }

      function poll() {
        fetch(api, { credentials: "omit", headers: authorization })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (workspace) { if (workspace) render(workspace); })
          .catch(function () { /* the portal is away for a moment: the next poll tries again */ });
      }
      poll();
      setInterval(poll, POLL_MS);
      document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
    });
  }

  var plugin = {
    id: NAME + ":portal",
    description: "A way back to the portal, Share…, and the portal's stop warnings inside the lab.",
    autoStart: true,
    activate: activate,
  };

  var container = {
    init: function (scope) { shareScope = scope; },
    get: function (module) {
      if (module !== "./extension") return Promise.reject(new Error(NAME + " has no module " + module));
      return Promise.resolve(function () { return { __esModule: true, default: [plugin] }; });
    },
  };
  var registry = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  registry[NAME] = container;
})();
