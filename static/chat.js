// The web chat: every piece of text goes into the page with textContent, never as HTML.
(() => {
  const log = document.getElementById("log");
  const chips = document.getElementById("chips");
  const input = document.getElementById("text");
  const language = document.getElementById("language");
  const tokenForm = document.getElementById("token-form");
  const composer = document.getElementById("composer");
  const sendButton = document.getElementById("send");
  const tokenProblem = document.getElementById("token-problem");

  // Who this browser is comes from the server: a signed, HttpOnly cookie the page never sees.
  let token = sessionStorage.getItem("mentor.token") || "";
  let labels = {};  // the page's own words, per language, from skills.json (GET /api/history)
  let shown = "";  // the transcript the log shows, as the server last gave it
  let following = null;  // while a person has the conversation: asking for the history every few seconds
  const FOLLOW_MS = 4000;
  const say = (key, fallback) => (labels[language.value] || {})[key] || fallback;

  function showLabels() {
    // The page speaks the conversation's language: its labels follow the menu.
    document.documentElement.lang = language.value;
    document.querySelectorAll("[data-label]").forEach((node) => {
      node.textContent = say(node.dataset.label, node.textContent);
    });
    document.querySelectorAll("[data-label-placeholder]").forEach((node) => {
      node.placeholder = say(node.dataset.labelPlaceholder, node.placeholder);
    });
  }

  function pickLanguage(codes, spoken) {
    // The conversation's own language first; then what this browser chose here before; then the
    // browser's languages in order of preference; then the first the bot speaks.
    const wanted = [spoken, localStorage.getItem("mentor.locale"), ...(navigator.languages || [navigator.language])];
    for (const code of wanted) {
      const short = (code || "").slice(0, 2).toLowerCase();
      if (codes.includes(short)) return short;
    }
    return codes[0] || "en";
  }

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const scroll = () => { log.scrollTop = log.scrollHeight; };

  function buttonNode(button) {
    if (button.url) {
      const link = el("a", "", button.title);
      link.href = button.url; link.target = "_blank"; link.rel = "noopener noreferrer";
      return link;
    }
    const node = el("button", "", button.title);
    node.type = "button";
    node.dataset.payload = button.payload;
    node.addEventListener("click", () => send({ payload: button.payload, label: button.title }, button.title));
    return node;
  }

  function cardNode(card) {
    const node = el("article", "card");
    if (card.image_url) {
      const img = el("img"); img.src = card.image_url; img.alt = ""; node.append(img);
    }
    const body = el("div", "body");
    const title = el("h3");
    if (card.url) {
      const link = el("a", "", card.title); link.href = card.url; link.target = "_blank"; link.rel = "noopener noreferrer";
      title.append(link);
    } else title.textContent = card.title;
    body.append(title);
    if (card.subtitle) body.append(el("p", "", card.subtitle));
    node.append(body);
    const actions = el("div", "actions");
    card.buttons.forEach((b) => actions.append(buttonNode(b)));
    node.append(actions);
    return node;
  }

  function showReplies(replies, byPerson) {
    chips.replaceChildren();
    replies.forEach((reply) => {
      if (reply.text) {
        const bubble = el("div", byPerson ? "bubble bot human" : "bubble bot", reply.text);
        if (byPerson) bubble.prepend(el("small", "who", say("person", "A person")));
        if (reply.buttons.length) {
          const box = el("div", "buttons");
          reply.buttons.forEach((b) => box.append(buttonNode(b)));
          bubble.append(box);
        }
        log.append(bubble);
      }
      if (reply.cards.length) {
        const row = el("div", "cards");
        reply.cards.forEach((c) => row.append(cardNode(c)));
        log.append(row);
      }
      if (reply.quick_replies.length) {
        chips.replaceChildren(...reply.quick_replies.map((b) => { const n = buttonNode(b); n.className = "chip"; return n; }));
      }
    });
    scroll();
  }

  function headers(json) {
    const h = json ? { "Content-Type": "application/json" } : {};
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  function needToken(wrong) {
    tokenForm.hidden = false; composer.hidden = true;
    tokenProblem.hidden = !wrong;
    document.getElementById("token").focus();
  }

  function busy(waiting) {
    // While the bot thinks: a typing bubble, and nothing to press twice.
    input.disabled = waiting; sendButton.disabled = waiting;
    chips.querySelectorAll("button").forEach((b) => { b.disabled = waiting; });
    log.setAttribute("aria-busy", waiting ? "true" : "false");
    const typing = document.getElementById("typing");
    if (waiting && !typing) {
      const dots = el("div", "bubble bot typing", "…");
      dots.id = "typing"; dots.setAttribute("aria-label", say("typing", "Mentor is typing"));
      log.append(dots); scroll();
    } else if (!waiting && typing) typing.remove();
    if (!waiting) input.focus();
  }

  async function send(message, shown) {
    if (shown) log.append(el("div", "bubble user", shown));
    busy(true);
    const utcOffset = -new Date().getTimezoneOffset();  // minutes east of UTC: reminders at the person's own hours
    // sent_at: what was on screen when this was sent ("done" twice at once is one step done).
    const body = JSON.stringify({ locale: language.value, message_id: crypto.randomUUID(), utc_offset_minutes: utcOffset, sent_at: Date.now(), ...message });
    let response;
    try {
      response = await fetch("/api/chat", { method: "POST", headers: headers(true), body, credentials: "same-origin" });
    } catch (error) {
      busy(false);
      log.append(el("div", "error", say("unreachable", "Can't reach the bot. Is it running?")));
      return;
    }
    busy(false);
    if (response.status === 401) { needToken(Boolean(token)); return; }
    const data = await response.json().catch(() => ({}));
    if (response.status === 503) {
      log.append(el("div", "error", say("busy", "The bot is busy: try again in a moment.")));
      return;
    }
    if (!response.ok) {
      const problem = say("error", "Something went wrong ({status}).").replace("{status}", String(response.status));
      log.append(el("div", "error", data.error || problem));
      return;
    }
    showReplies(data.replies || []);
    refresh();  // whether a person has the conversation now (then the page keeps asking), and what they said
  }

  function showTranscript(transcript) {
    log.replaceChildren();
    transcript.forEach((entry) => {
      if (entry.from === "person") log.append(el("div", "bubble user", entry.text));
      else showReplies([entry.reply], entry.by === "owner");
    });
    scroll();
  }

  function follow(open) {
    // A person's answers arrive in the history, not in the answer to a message: ask while they may come.
    if (open && !following) following = setInterval(refresh, FOLLOW_MS);
    if (!open && following) { clearInterval(following); following = null; }
  }

  async function refresh() {
    // The log is the server's transcript: drawn again whenever it holds more than the log shows.
    let history;
    try {
      const response = await fetch("/api/history", { headers: headers(false), credentials: "same-origin" });
      if (!response.ok) return;
      history = await response.json();
    } catch (error) { return; }
    const now = JSON.stringify(history.transcript || []);
    if (now !== shown) showTranscript(history.transcript || []);
    shown = now;
    follow(Boolean(history.handoff));
  }

  async function start() {
    // A reload brings the conversation back; a first visit starts it.
    let history = { transcript: [], languages: [], language: null, labels: {} };
    try {
      const response = await fetch("/api/history", { headers: headers(false), credentials: "same-origin" });
      if (response.status === 401) { needToken(Boolean(token)); return; }
      if (response.ok) history = await response.json();
    } catch (error) { /* the first message will say what is wrong */ }
    if (history.languages.length) {
      language.replaceChildren(...history.languages.map((l) => { const o = el("option", "", l.name); o.value = l.code; return o; }));
    }
    labels = history.labels || {};
    language.value = pickLanguage([...language.options].map((o) => o.value), history.language);
    showLabels();
    if (!history.transcript.length) { send({ payload: "GET_STARTED" }); return; }
    shown = JSON.stringify(history.transcript);
    showTranscript(history.transcript);
    follow(Boolean(history.handoff));
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send({ text }, text);
  });
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    token = document.getElementById("token").value.trim();
    sessionStorage.setItem("mentor.token", token);
    tokenForm.hidden = true; composer.hidden = false;
    start();
  });
  language.addEventListener("change", () => {
    localStorage.setItem("mentor.locale", language.value);
    showLabels();
    send({ payload: "LANG:" + language.value }, language.options[language.selectedIndex].text);
  });
  start();
})();
