// The chat page: ask over server-sent events, show passages at once, stream the answer, link citations.
// Every text from the server goes in with textContent: nothing it sends is ever run as HTML.
"use strict";
(function () {
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const backend = document.getElementById("backend");
  const log = document.getElementById("log");
  const passagesEl = document.getElementById("passages");
  const viewer = document.getElementById("viewer");
  const send = document.getElementById("send");
  let history = [];

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function viewerUrl(doc, start, end) {
    return "/docs/" + encodeURIComponent(doc) + "?start=" + start + "&end=" + end + "#hl";
  }

  function showPassages(passages) {
    passagesEl.replaceChildren();
    passages.forEach(function (p, i) {
      const li = el("li");
      const a = el("a", "passage-link", p.doc + (p.section ? " · " + p.section : ""));
      a.href = viewerUrl(p.doc, p.start, p.end);
      a.target = "viewer";
      a.dataset.n = String(i + 1);
      li.append(a, el("div", "snippet", p.text.replace(/\s+/g, " ").slice(0, 220) + (p.text.length > 220 ? "…" : "")));
      passagesEl.append(li);
    });
  }

  // The answer as text nodes, citation links for [n], and marks on sentences the check found unsupported.
  function renderAnswer(box, answer) {
    box.replaceChildren();
    box.classList.remove("streaming");
    if (answer.abstained) box.classList.add("refusal");
    const text = answer.answer;
    const cites = new Map(answer.citations.map(function (c) { return [c.n, c]; }));
    const bad = [];
    (answer.unsupported || []).forEach(function (s) {
      const at = text.indexOf(s);
      if (at >= 0) bad.push([at, at + s.length]);
    });
    function addText(from, to) {
      let pos = from;
      bad.forEach(function (r) {
        const a = Math.max(r[0], from), b = Math.min(r[1], to);
        if (a < b && a >= pos) {
          if (a > pos) box.append(document.createTextNode(text.slice(pos, a)));
          const m = el("mark", "unsupported", text.slice(a, b));
          m.title = "Not supported by the passages it cites";
          box.append(m);
          pos = b;
        }
      });
      if (pos < to) box.append(document.createTextNode(text.slice(pos, to)));
    }
    const re = /\[(\d+)\]/g;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      addText(last, m.index);
      const c = cites.get(Number(m[1]));
      if (c) {
        const a = el("a", "cite", "[" + c.n + "]");
        a.href = viewerUrl(c.doc, c.start, c.end);
        a.target = "viewer";
        a.title = c.doc + (c.section ? " · " + c.section : "") + ", characters " + c.start + "–" + c.end;
        box.append(a);
      } else {
        box.append(document.createTextNode(m[0]));
      }
      last = re.lastIndex;
    }
    addText(last, text.length);
    const badges = el("div", "meta");
    if (answer.abstained) badges.append(el("span", "badge warn", "not answered by the collection"));
    else if (!answer.grounded) badges.append(el("span", "badge bad", "not grounded: cites no passage"));
    if (answer.unsupported && answer.unsupported.length) badges.append(el("span", "badge bad", answer.unsupported.length + " unsupported sentence(s)"));
    (answer.warnings || []).forEach(function (w) { badges.append(el("span", "badge warn", w)); });
    badges.append(el("span", "badge", answer.backend + " · " + Math.round(answer.timings_ms.total) + " ms"));
    box.after(badges);
  }

  function parseEvent(raw) {
    let event = "message", data = "";
    raw.split("\n").forEach(function (line) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    });
    return { event: event, data: data ? JSON.parse(data) : {} };
  }

  async function ask(question) {
    const turn = el("div", "turn");
    const box = el("div", "answer streaming");
    turn.append(el("p", "question", question), box);
    log.append(turn);
    turn.scrollIntoView({ block: "end" });
    send.disabled = true;
    const started = performance.now();
    try {
      const res = await fetch("/api/ask/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question, history: history, backend: backend.value }),
      });
      if (!res.ok) {
        const err = await res.json().catch(function () { return { error: res.statusText }; });
        throw new Error(err.error || res.statusText);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const ev = parseEvent(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (ev.event === "passages") {
            turn.dataset.passagesMs = String(Math.round(performance.now() - started));
            showPassages(ev.data.passages);
          } else if (ev.event === "token") {
            if (!turn.dataset.firstTokenMs) turn.dataset.firstTokenMs = String(Math.round(performance.now() - started));
            box.textContent += ev.data.text;
          } else if (ev.event === "answer") {
            renderAnswer(box, ev.data);
            turn.dataset.doneMs = String(Math.round(performance.now() - started));
            turn.classList.add("done");
            history.push({ role: "user", content: question }, { role: "assistant", content: ev.data.answer });
          } else if (ev.event === "error") {
            throw new Error(ev.data.error);
          }
        }
      }
    } catch (e) {
      box.classList.remove("streaming");
      box.classList.add("error");
      box.textContent = "Error: " + e.message;
      turn.classList.add("done");
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const q = input.value.trim();
    if (!q || send.disabled) return;
    input.value = "";
    ask(q);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("new-chat").addEventListener("click", function () {
    history = [];
    log.replaceChildren();
    passagesEl.replaceChildren();
    viewer.src = "about:blank";
    input.focus();
  });
  input.focus();
})();
