// The web chat's page script: no framework, text shown with textContent only, the token in
// sessionStorage only (never a message), every request to this page's own origin.
"use strict";
(function () {
  var root = document.getElementById("chat");
  var words = root.dataset;
  var lang = words.lang;
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var notice = document.getElementById("notice");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var send = document.getElementById("send");
  var KEY = "chat.token", LANG = "chat.lang";
  var LINK = /(https:\/\/[^\s<>"]+|mailto:[^\s<>"]+|tel:[+0-9()\-.]+)/g;
  var SENSITIVE = /\bA[\s-]?\d{3}[\s-]?\d{3}[\s-]?\d{2,3}\b|\b\d{3}[\s-]\d{2}[\s-]\d{4}\b|\b\d{9}\b/i;
  var lastSeq = 0, busy = 0, turnsStarted = 0, queue = [], expiryTimer = 0, pollTimer = 0;

  function store(name, value) {
    try {
      if (value === null) sessionStorage.removeItem(name); else sessionStorage.setItem(name, value);
    } catch (e) { /* storage refused: the chat still works in this page */ }
  }
  function stored(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }
  function say(text) { statusLine.textContent = text || ""; }

  function api(method, path, body) {
    var headers = {};
    var token = stored(KEY);
    if (token) headers.Authorization = "Bearer " + token;
    if (body) headers["Content-Type"] = "application/json";
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 15000);
    return fetch(path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", cache: "no-store", signal: controller.signal, keepalive: method === "DELETE"
    }).then(function (response) {
      clearTimeout(timer);
      if (response.status === 204) return { status: 204, data: {} };
      return response.json().then(function (data) {
        return { status: response.status, data: data, retry: Number(response.headers.get("Retry-After")) || 0 };
      }, function () { return { status: response.status, data: {} }; });
    }, function (error) { clearTimeout(timer); throw error; });
  }

  function linkButton(target, holder) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = target.replace(/^(mailto|tel):/, "");
    button.addEventListener("click", function () {
      if (/^https:\/\//.test(target)) window.open(target, "_blank", "noopener,noreferrer");
      else if (/^(tel|mailto):/.test(target)) window.location.href = target;
    });
    holder.appendChild(button);
  }

  function show(message, from) {
    var item = document.createElement("div");
    item.className = "message " + from;
    item.lang = message.lang || lang;
    if (from === "firm") {
      var who = document.createElement("p");
      who.className = "who";
      who.textContent = words.firm;
      item.appendChild(who);
    }
    var text = document.createElement("p");
    text.className = "text";
    text.textContent = message.text;
    item.appendChild(text);
    var links = message.text.match(LINK);
    if (links && from !== "person") {
      var linkRow = document.createElement("div");
      linkRow.className = "links";
      links.forEach(function (target) { linkButton(target, linkRow); });
      item.appendChild(linkRow);
    }
    if (message.buttons && message.buttons.length) {
      var row = document.createElement("div");
      row.className = "choices";
      message.buttons.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.label;
        button.addEventListener("click", function () {
          turn({ button: choice.data }, choice.label);
        });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
    if (message.seq && message.seq > lastSeq) lastSeq = message.seq;
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function openSession() {
    return api("POST", "/chat/api/session", { lang: lang }).then(function (answer) {
      if (answer.status !== 201) throw answer;
      store(KEY, answer.data.token);
      store(LANG, lang);
      lastSeq = 0;
      watchExpiry(answer.data.expires_in);
    });
  }

  function turn(what, shown) {
    var body = { client_msg_id: newId() };
    Object.keys(what).forEach(function (key) { body[key] = what[key]; });
    if (shown) show({ text: shown, lang: lang }, "person");
    queue.push(body);
    if (queue.length === 1) next(0);
  }

  function next(attempt) {
    var body = queue[0];
    if (!body) return;
    busy += 1;
    turnsStarted += 1;
    say(attempt ? words.retrying : words.sending);
    var ready = stored(KEY) ? Promise.resolve() : openSession();
    ready.then(function () { return api("POST", "/chat/api/turn", body); }).then(function (answer) {
      busy -= 1;
      if (answer.status === 200) {
        queue.shift();
        say("");
        answer.data.replies.forEach(function (reply) { show(reply, "assistant"); });
        touchExpiry();
        next(0);
      } else if (answer.status === 429) {
        say(answer.data.message);
        setTimeout(function () { next(attempt + 1); }, (answer.retry || 5) * 1000);
      } else if (answer.status === 401) {
        store(KEY, null);
        say(words.closed);
        next(attempt + 1);
      } else if (answer.status >= 500) {
        retryLater(attempt);
      } else {
        queue.shift();
        say(answer.data.message || "");
        next(0);
      }
    }, function () {
      busy -= 1;
      retryLater(attempt);
    });
  }

  function retryLater(attempt) {
    if (!navigator.onLine) { say(words.offline); return; }
    say(words.retrying);
    setTimeout(function () { next(attempt + 1); }, Math.min(30000, 1000 * Math.pow(2, attempt)));
  }

  window.addEventListener("online", function () { if (queue.length && !busy) next(1); });
  window.addEventListener("offline", function () { say(words.offline); });

  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, 4000);
    if (busy || queue.length || !stored(KEY) || document.hidden) return;
    var started = turnsStarted;
    api("GET", "/chat/api/history?after=" + lastSeq).then(function (answer) {
      if (answer.status !== 200 || started !== turnsStarted || busy) return;
      answer.data.replies.forEach(function (message) {
        if (message.seq > lastSeq) show(message, message.from);
      });
      if (!queue.length && statusLine.textContent === words.offline) say("");
    }, function () { if (!navigator.onLine) say(words.offline); });
  }

  var expiresAt = 0;
  function watchExpiry(seconds) {
    expiresAt = Date.now() + seconds * 1000;
    clearTimeout(expiryTimer);
    notice.hidden = true;
    expiryTimer = setTimeout(warnExpiry, Math.max(0, seconds - 120) * 1000);
  }
  function touchExpiry() { watchExpiry((expiresAt - Date.now()) / 1000 > 0 ? 1800 : 1800); }
  function warnExpiry() {
    showNotice(words.expiring, words.extend, function () {
      api("POST", "/chat/api/session").then(function (answer) {
        if (answer.status === 200) watchExpiry(answer.data.expires_in);
      });
    });
  }

  function showNotice(text, label, action) {
    notice.textContent = "";
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.addEventListener("click", function () { notice.hidden = true; action(); });
    notice.appendChild(paragraph);
    notice.appendChild(button);
    notice.hidden = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    function go() { input.value = ""; notice.hidden = true; turn({ text: text }, text); }
    if (SENSITIVE.test(text)) showNotice(words.hint, words.hintSend, go); else go();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : send.click();
    }
  });

  function forgetHere() {
    store(KEY, null);
    store(LANG, null);
    log.textContent = "";
    lastSeq = 0;
    queue = [];
  }

  document.getElementById("delete").addEventListener("click", function () {
    var gone = stored(KEY) ? api("DELETE", "/chat/api/session") : Promise.resolve();
    gone.then(function () { forgetHere(); say(words.deleted); }, function () { forgetHere(); });
  });

  document.getElementById("exit").addEventListener("click", function () {
    if (stored(KEY)) api("DELETE", "/chat/api/session").catch(function () {});
    forgetHere();
    try { sessionStorage.clear(); } catch (e) { /* nothing kept */ }
    var parent = root.dataset.parent;
    if (parent && window.parent !== window) window.parent.postMessage({ type: "chat-quick-exit" }, parent);
    window.location.replace(root.dataset.exit || "about:blank");
  });

  function begin() {
    document.getElementById("nojs").hidden = true;
    input.disabled = false;
    send.disabled = false;
    if (!stored(KEY)) {
      openSession().then(function () { turn({ command: "start" }); }, function () { say(words.offline); });
      poll();
      return;
    }
    api("GET", "/chat/api/history?after=0").then(function (answer) {
      if (answer.status === 401) { store(KEY, null); begin(); return; }
      if (answer.status !== 200) { say(words.offline); return; }
      answer.data.replies.forEach(function (message) { show(message, message.from); });
      watchExpiry(answer.data.expires_in);
      if (stored(LANG) !== lang) { store(LANG, lang); turn({ button: "lang:" + lang }); }
      poll();
    }, function () { say(words.offline); poll(); });
  }
  begin();
})();
