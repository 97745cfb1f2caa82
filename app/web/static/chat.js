// The chat page: ask over server-sent events, show passages at once, stream the answer, link citations.
// Every text from the server goes in with textContent: nothing it sends is ever run as HTML.
// The conversation is kept in sessionStorage, so a reload shows it again and follow-ups keep their context.
"use strict";
(function () {
  const form = document.getElementById("ask-form");
  const input = document.getElementById("question");
  const backend = document.getElementById("backend");
  const log = document.getElementById("log");
  const passagesEl = document.getElementById("passages");
  const viewer = document.getElementById("viewer");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const STORE = "citeqa.conversation";
  let turns = load();  // [{question, answer}]: answer is the server's answer object
  let inFlight = null;  // the AbortController of the question being answered

  function load() {
    try {
      return JSON.parse(sessionStorage.getItem(STORE) || "[]");
    } catch (e) {
      return [];
    }
  }

  function save() {
    try {
      sessionStorage.setItem(STORE, JSON.stringify(turns));
    } catch (e) { /* storage full or off: the page still works, a reload forgets */ }
  }

  function history() {
    const h = [];
    turns.forEach(function (t) { h.push({ role: "user", content: t.question }, { role: "assistant", content: t.answer.answer }); });
    return h;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function viewerUrl(doc, start, end) {
    return "/docs/" + encodeURIComponent(doc) + "?start=" + start + "&end=" + end + "#hl";
  }

  function snippet(text, n) {
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length > n ? flat.slice(0, n) + "…" : flat;
  }

  function showPassages(passages) {
    passagesEl.replaceChildren();
    passages.forEach(function (p, i) {
      const li = el("li");
      const a = el("a", "passage-link", (p.title || p.doc) + (p.section ? " · " + p.section : ""));
      a.href = viewerUrl(p.doc, p.start, p.end);
      a.target = "viewer";
      a.dataset.n = String(i + 1);
      li.append(a, el("div", "doc-name", p.doc), el("div", "snippet", snippet(p.text, 220)));
      passagesEl.append(li);
    });
  }

  function citeLink(c, text) {
    const a = el("a", "cite", text);
    a.href = viewerUrl(c.doc, c.start, c.end);
    a.target = "viewer";
    a.title = (c.title || c.doc) + (c.section ? " · " + c.section : "") + ", characters " + c.start + "–" + c.end;
    return a;
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
      box.append(c ? citeLink(c, "[" + c.n + "]") : document.createTextNode(m[0]));
      last = re.lastIndex;
    }
    addText(last, text.length);
  }

  // Under each answer, its own sources: what its [n] point at, whatever is asked later.
  function renderSources(turnEl, answer) {
    if (!answer.citations.length) return;
    const ol = el("ol", "sources");
    ol.setAttribute("aria-label", "Sources of this answer");
    answer.citations.forEach(function (c) {
      const li = el("li");
      li.value = c.n;
      li.append(citeLink(c, c.title || c.doc), el("span", "where", " · " + (c.section ? c.section + " · " : "") + c.doc + ", characters " + c.start + "–" + c.end),
        el("q", "snippet", snippet(c.text, 240)));
      ol.append(li);
    });
    turnEl.append(ol);
  }

  function markdown(question, answer) {
    let md = answer.answer;
    if (answer.citations.length) {
      md += "\n\nSources:\n" + answer.citations.map(function (c) {
        const url = location.origin + viewerUrl(c.doc, c.start, c.end).replace("#hl", "");
        return "[" + c.n + "] [" + (c.title || c.doc).replace(/[\[\]]/g, "") + "](" + url + "), " + c.doc + ", characters " + c.start + "–" + c.end
          + ": “" + snippet(c.text, 300) + "”";
      }).join("\n");
    }
    return "**" + question + "**\n\n" + md + "\n";
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {  // no clipboard API off a secure origin: the old way
      const area = el("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy as Markdown"; }, 1500);
  }

  function renderMeta(turnEl, question, answer, stopped) {
    const badges = el("div", "meta");
    if (stopped) badges.append(el("span", "badge warn", "stopped"));
    else if (answer.abstained) badges.append(el("span", "badge warn", "not answered by the collection"));
    else if (!answer.grounded) badges.append(el("span", "badge bad", "not grounded: cites no passage"));
    if (answer.unsupported && answer.unsupported.length) badges.append(el("span", "badge bad", answer.unsupported.length + " unsupported sentence(s)"));
    (answer.warnings || []).forEach(function (w) { badges.append(el("span", "badge warn", w)); });
    if (answer.backend) badges.append(el("span", "badge", answer.backend + " · " + Math.round(answer.timings_ms.total) + " ms"));
    if (!stopped) {
      const b = el("button", "copy", "Copy as Markdown");
      b.type = "button";
      b.addEventListener("click", function () { copy(markdown(question, answer), b); });
      badges.append(b);
    }
    turnEl.append(badges);
  }

  function renderTurn(question) {
    const turn = el("div", "turn");
    turn.append(el("p", "question", question));
    log.append(turn);
    return turn;
  }

  function finish(turn, box, question, answer) {
    renderAnswer(box, answer);
    renderSources(turn, answer);
    renderMeta(turn, question, answer, false);
    turn.classList.add("done");
    if (answer.abstained) viewer.src = "about:blank";  // no highlight of an earlier answer's passage stays up
  }

  function parseEvent(raw) {
    let event = "message", data = "";
    raw.split("\n").forEach(function (line) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data += line.slice(5).trim();
    });
    return { event: event, data: data ? JSON.parse(data) : {} };
  }

  function busy(on) {
    send.disabled = on;
    stop.hidden = !on;
  }

  async function ask(question) {
    const turn = renderTurn(question);
    const status = el("p", "status", "Searching the collection…");
    status.setAttribute("role", "status");
    const box = el("div", "answer streaming");
    turn.append(status, box);
    turn.scrollIntoView({ block: "end" });
    const controller = new AbortController();
    inFlight = controller;
    busy(true);
    const started = performance.now();
    try {
      const res = await fetch("/api/ask/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ question: question, history: history(), backend: backend.value }),
        signal: controller.signal,
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
            status.textContent = "Writing the answer from " + ev.data.passages.length + " passages…";
            showPassages(ev.data.passages);
          } else if (ev.event === "token") {
            if (!turn.dataset.firstTokenMs) turn.dataset.firstTokenMs = String(Math.round(performance.now() - started));
            box.textContent += ev.data.text;
          } else if (ev.event === "answer") {
            status.remove();
            finish(turn, box, question, ev.data);
            turn.dataset.doneMs = String(Math.round(performance.now() - started));
            turns.push({ question: question, answer: ev.data });
            save();
          } else if (ev.event === "error") {
            throw new Error(ev.data.error);
          }
        }
      }
    } catch (e) {
      status.remove();
      box.classList.remove("streaming");
      if (controller.signal.aborted) {  // Stop: the server stops writing when the connection closes
        renderMeta(turn, question, { warnings: [] }, true);
      } else {
        box.classList.add("error");
        box.textContent = "Error: " + e.message;
      }
      turn.classList.add("done");
    } finally {
      inFlight = null;
      busy(false);
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
  stop.addEventListener("click", function () {
    if (inFlight) inFlight.abort();
  });
  document.getElementById("new-chat").addEventListener("click", function () {
    if (inFlight) inFlight.abort();
    turns = [];
    save();
    log.replaceChildren();
    passagesEl.replaceChildren();
    viewer.src = "about:blank";
    input.focus();
  });

  // A reload: the conversation as it was, each answer with its own sources.
  turns.forEach(function (t) {
    const turn = renderTurn(t.question);
    const box = el("div", "answer");
    turn.append(box);
    finish(turn, box, t.question, t.answer);
  });
  if (turns.length) showPassages(turns[turns.length - 1].answer.passages || []);
  input.focus();
})();
