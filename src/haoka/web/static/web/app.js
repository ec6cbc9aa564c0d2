/* haoka pages: compare selection, digit pad, bottom sheet, hold countdowns, form guards. No dependencies
   besides htmx (loaded before this file); every feature also works as plain links and forms. */
(function () {
  "use strict";

  var COMPARE_KEY = "haoka.compare";

  function loadCodes() {
    try {
      var codes = JSON.parse(window.sessionStorage.getItem(COMPARE_KEY));
      return Array.isArray(codes) ? codes : [];
    } catch (e) {
      return [];
    }
  }

  function saveCodes(codes) {
    try {
      window.sessionStorage.setItem(COMPARE_KEY, JSON.stringify(codes));
    } catch (e) { /* private mode: selection lives on the page only */ }
  }

  function compareBar() {
    return document.getElementById("compare-bar");
  }

  function syncCompare() {
    var bar = compareBar();
    if (!bar) return;
    var max = parseInt(bar.getAttribute("data-max"), 10) || 3;
    var codes = loadCodes();
    document.querySelectorAll("input[data-compare]").forEach(function (box) {
      box.checked = codes.indexOf(box.value) >= 0;
      box.disabled = !box.checked && codes.length >= max;
      box.closest(".compare-check").classList.toggle("disabled", box.disabled);
    });
    bar.querySelectorAll("[data-compare-count]").forEach(function (el) {
      el.textContent = String(codes.length);
    });
    bar.hidden = codes.length === 0;
    var go = bar.querySelector("[data-compare-go]");
    if (go) go.disabled = codes.length < 2;
    document.body.classList.toggle("has-compare-bar", codes.length > 0);
  }

  function toggleCode(code, on) {
    var bar = compareBar();
    var max = bar ? parseInt(bar.getAttribute("data-max"), 10) || 3 : 3;
    var codes = loadCodes().filter(function (c) { return c !== code; });
    if (on && codes.length < max) codes.push(code);
    saveCodes(codes);
    syncCompare();
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-compare]")) toggleCode(box.value, box.checked);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "compare-bar") return;
    event.preventDefault();
    var codes = loadCodes();
    if (codes.length) window.location.href = form.action + "?codes=" + codes.map(encodeURIComponent).join(",");
  });

  // ------------------------------------------------------------ digit pad

  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-digit], [data-digit-back], [data-digit-clear]");
    if (!key) return;
    var form = key.closest("form");
    var input = form && form.querySelector("[data-digit-target]");
    if (!input) return;
    var max = input.maxLength > 0 ? input.maxLength : 8;
    if (key.hasAttribute("data-digit")) {
      if (input.value.length < max) input.value += key.getAttribute("data-digit");
    } else if (key.hasAttribute("data-digit-back")) {
      input.value = input.value.slice(0, -1);
    } else {
      input.value = "";
    }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // ------------------------------------------------------------ compare clear, sheet

  // The sheet is a modal dialog: it takes the focus when it opens, keeps Tab inside, closes on
  // Esc, the backdrop, × or 取消 (a link to the page behind it without script), and gives the
  // focus back to what opened it.
  var sheetOpener = null;

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-compare-clear]")) {
      saveCodes([]);
      syncCompare();
    }
    var opener = event.target.closest("[data-sheet-open]");
    if (opener) sheetOpener = opener;
    var closer = event.target.closest("[data-sheet-close]");
    if (closer && closer.closest("#sheet")) {
      event.preventDefault();
      closeSheet();
    }
  });

  function sheetPanel() {
    var sheet = document.getElementById("sheet");
    return sheet && sheet.querySelector(".sheet-panel");
  }

  function focusables(panel) {
    return Array.prototype.filter.call(
      panel.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea"),
      function (el) { return el.offsetParent !== null; }
    );
  }

  function openedSheet() {
    var panel = sheetPanel();
    document.body.classList.toggle("sheet-open", Boolean(panel));
    if (!panel) return;
    var first = panel.querySelector("[autofocus], input:not([type=hidden]), [data-sheet-focus]") || focusables(panel)[0];
    if (first) first.focus();
  }

  function closeSheet() {
    var sheet = document.getElementById("sheet");
    if (!sheet || !sheet.innerHTML) return;
    sheet.innerHTML = "";
    document.body.classList.remove("sheet-open");
    if (sheetOpener && document.body.contains(sheetOpener)) sheetOpener.focus();
    sheetOpener = null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeSheet();
      return;
    }
    var panel = event.key === "Tab" && sheetPanel();
    if (!panel) return;
    var items = focusables(panel);
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !panel.contains(document.activeElement))) {
      event.preventDefault();
      first.focus();
    }
  });

  // A form with data-confirm="question" asks in the sheet before it goes (确认 / 取消).
  function askInSheet(form, question, submitter) {
    var sheet = document.getElementById("sheet");
    if (!sheet) return false;
    sheet.innerHTML =
      '<div class="sheet-backdrop" data-sheet-close></div>' +
      '<div class="sheet-panel ask-panel" role="alertdialog" aria-modal="true" aria-labelledby="ask-title" aria-describedby="ask-text">' +
      '<div class="sheet-head"><b id="ask-title">请确认</b><button type="button" class="sheet-close" data-sheet-close aria-label="关闭">×</button></div>' +
      '<p class="ask-text" id="ask-text"></p>' +
      '<div class="actions two"><button type="button" class="btn" data-sheet-close>再想想</button>' +
      '<button type="button" class="btn btn-primary" data-ask-yes data-sheet-focus>确认</button></div></div>';
    sheet.querySelector("#ask-text").textContent = question;
    sheetOpener = submitter || form.querySelector("button[type=submit]");
    sheet.querySelector("[data-ask-yes]").addEventListener("click", function () {
      sheetOpener = null;
      closeSheet();
      form.setAttribute("data-asked", "1");
      if (submitter && form.requestSubmit) form.requestSubmit(submitter);
      else if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    });
    openedSheet();
    return true;
  }

  // ------------------------------------------------------------ countdowns

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // 29:59 under an hour, 23:59:45 beyond (never 1439:45).
  function clockText(left) {
    var hours = Math.floor(left / 3600);
    var minutes = Math.floor((left % 3600) / 60);
    var mmss = pad(minutes) + ":" + pad(left % 60);
    return hours ? hours + ":" + mmss : mmss;
  }

  function tick() {
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      var until = Date.parse(el.getAttribute("data-until"));
      if (isNaN(until)) return;
      var left = Math.floor((until - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = "已过期";
        el.classList.add("expired");
        return;
      }
      el.textContent = clockText(left);
    });
  }

  // A button that may be pressed again only after a wait (resend a code: 60 s): disabled and
  // counting down; without this script the server's limit answers an early press.
  function startWaits() {
    document.querySelectorAll("button[data-wait]").forEach(function (button) {
      var wait = parseInt(button.getAttribute("data-wait"), 10);
      if (!(wait > 0) || button.getAttribute("data-waiting")) return;
      var label = button.textContent;
      var until = Date.now() + wait * 1000;
      button.setAttribute("data-waiting", "1");
      function step() {
        var left = Math.ceil((until - Date.now()) / 1000);
        if (left <= 0) {
          button.disabled = false;
          button.textContent = label;
          button.removeAttribute("data-waiting");
          button.setAttribute("data-wait", "0");
          return;
        }
        button.disabled = true;
        button.textContent = (button.getAttribute("data-wait-text") || label) + "（" + left + " 秒）";
        window.setTimeout(step, 250);
      }
      step();
    });
  }

  // ------------------------------------------------------------ forms: photo picked, asked, submit once

  document.addEventListener("change", function (event) {
    var input = event.target;
    var tile = input.closest && input.closest(".photo-input");
    if (!tile || input.type !== "file") return;
    var file = input.files && input.files[0];
    tile.classList.toggle("has-file", Boolean(file));
    var name = tile.querySelector("[data-file-name]");
    if (name) name.textContent = file ? file.name : "点击上传";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !form.getAttribute("data-asked")) {
      if (askInSheet(form, question, event.submitter)) {
        event.preventDefault();
        return;
      }
    }
    if (form.removeAttribute) form.removeAttribute("data-asked");
    if (form.hasAttribute && form.hasAttribute("data-once")) {
      // A second tap while the first request is on its way would only meet "已处理" errors.
      if (form.getAttribute("data-sent")) {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-sent", "1");
      var inside = Array.prototype.slice.call(form.querySelectorAll("button[type=submit]"));
      var outside = form.id
        ? Array.prototype.slice.call(document.querySelectorAll("button[form='" + form.id + "']"))
        : [];
      inside.concat(outside).forEach(function (button) { button.classList.add("is-busy"); });
    }
  });
  // Coming back with the browser's back button shows the page as it was left: allow again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
    });
    document.querySelectorAll(".is-busy").forEach(function (b) { b.classList.remove("is-busy"); });
  });

  // ------------------------------------------------------------ 省/市/区 cascade

  // A changed province fills the cities (a changed city the districts) from the division table
  // (GET /api/v1/divisions?parent=<code>); what came after it is chosen again.
  var NEXT_DIVISION = { province: "city", city: "district" };

  function resetSelect(select) {
    select.length = 1; // keep "请选择"
    select.value = "";
  }

  document.addEventListener("change", function (event) {
    var select = event.target;
    var level = select.getAttribute && select.getAttribute("data-division");
    var box = level && select.closest("[data-divisions]");
    if (!box || !NEXT_DIVISION[level]) return;
    var next = box.querySelector("[data-division='" + NEXT_DIVISION[level] + "']");
    var after = box.querySelector("[data-division='" + (NEXT_DIVISION[NEXT_DIVISION[level]] || "") + "']");
    resetSelect(next);
    if (after) resetSelect(after);
    var chosen = select.value;
    if (!chosen) return;
    var url = box.getAttribute("data-divisions") + "?parent=" + encodeURIComponent(chosen);
    window.fetch(url, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (body) {
        if (select.value !== chosen) return; // changed again meanwhile
        body.items.forEach(function (item) { next.add(new Option(item.name, item.code)); });
        next.dispatchEvent(new Event("divisions:loaded", { bubbles: true }));
      })
      .catch(function () { toast("地区列表加载失败，请重试"); });
  });

  // ------------------------------------------------------------ htmx glue

  function toast(text) {
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "alert");
    el.textContent = text;
    document.body.appendChild(el);
    window.setTimeout(function () { el.remove(); }, 3500);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && (target.id === "sheet" || (target.closest && target.closest("#sheet")))) {
      openedSheet();
    }
    // 获取验证码 swapped the code step: the code goes in next.
    if (target && target.id === "step-up-code") {
      var code = document.querySelector("#step-up-code input[name=code]");
      if (code) code.focus();
    }
    syncCompare();
    tick();
    startWaits();
  });
  // Filter forms send every field; drop the empty ones so pushed URLs stay short and shareable.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (key) {
      if (params[key] === "") delete params[key];
    });
  });
  document.addEventListener("htmx:responseError", function () { toast("服务繁忙，请稍后再试"); });
  document.addEventListener("htmx:sendError", function () { toast("网络异常，请检查网络后重试"); });

  document.addEventListener("DOMContentLoaded", function () {
    syncCompare();
    tick();
    window.setInterval(tick, 1000);
    startWaits();
  });
})();
