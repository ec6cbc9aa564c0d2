/* haoka agent pages: copy to the clipboard, the withdrawal fee preview. No dependencies. */
(function () {
  "use strict";

  function toast(text) {
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    document.body.appendChild(el);
    window.setTimeout(function () { el.remove(); }, 2500);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  function copy(text, button) {
    var done = function () {
      button.setAttribute("data-copied", "1");
      toast("已复制");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        if (fallbackCopy(text)) done(); else toast("复制失败，请长按手动复制");
      });
    } else if (fallbackCopy(text)) {
      done();
    } else {
      toast("复制失败，请长按手动复制");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-text]");
    if (!button) return;
    var text = button.getAttribute("data-copy-text");
    if (text === null) {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source) return;
      text = source.tagName === "INPUT" ? source.value : source.textContent;
    }
    copy(text.trim(), button);
  });

  // ------------------------------------------------------------ withdrawal fee preview

  function fen(text) {
    var m = /^\s*¥?\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!m) return null;
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }

  function yuan(value) {
    var whole = Math.floor(value / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return "¥" + whole + "." + ("0" + (value % 100)).slice(-2);
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-fee-form]");
    if (!form || event.target.name !== "amount") return;
    var preview = form.querySelector("[data-fee-preview]");
    if (!preview.hasAttribute("data-rule")) preview.setAttribute("data-rule", preview.textContent);
    var amount = fen(event.target.value);
    var min = parseInt(form.getAttribute("data-min"), 10);
    if (amount === null || amount === 0) {
      preview.textContent = preview.getAttribute("data-rule");
      return;
    }
    if (amount < min) {
      preview.textContent = "单笔提现至少 " + yuan(min);
      return;
    }
    var permille = parseInt(form.getAttribute("data-permille"), 10);
    var fee = Math.max(parseInt(form.getAttribute("data-min-fee"), 10), Math.ceil(amount * permille / 1000));
    preview.textContent = "手续费 " + yuan(fee) + "，实际到账 " + yuan(amount - fee);
  });
})();
