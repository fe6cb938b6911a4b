// The loader of the firm's chat: a launcher button opening the chat in an iframe from its own
// origin. Messages are sent to and accepted from that origin only.
(function () {
  var origin = {{origin}};
  var es = (document.documentElement.lang || navigator.language || "").slice(0, 2) === "es";
  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.textContent = es ? {{launcher_es}} : {{launcher_en}};
  launcher.setAttribute("aria-expanded", "false");
  launcher.style.cssText = "position:fixed;right:16px;bottom:16px;min-height:44px;padding:0 16px;font:16px sans-serif;border:0;border-radius:22px;background:#114d7a;color:#fff;z-index:2147483646";
  var frame = null;
  function close() {
    if (frame) { frame.remove(); frame = null; }
    launcher.setAttribute("aria-expanded", "false");
    launcher.textContent = es ? {{launcher_es}} : {{launcher_en}};
  }
  launcher.addEventListener("click", function () {
    if (frame) { close(); return; }
    frame = document.createElement("iframe");
    frame.src = origin + "/chat?lang=" + (es ? "es" : "en") + "&embed=" + encodeURIComponent(location.origin);
    frame.title = launcher.textContent;
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.style.cssText = "position:fixed;right:16px;bottom:72px;width:min(400px,calc(100vw - 32px));height:min(600px,calc(100vh - 96px));border:1px solid #888;border-radius:8px;background:#fff;z-index:2147483647";
    document.body.appendChild(frame);
    launcher.setAttribute("aria-expanded", "true");
    launcher.textContent = es ? {{close_es}} : {{close_en}};
  });
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    if (event.data && event.data.type === "chat-quick-exit") {
      close();
      location.replace({{exit}});
    }
  });
  document.body.appendChild(launcher);
})();
