// The element library, loaded in every frame at document_start in the
// extension's content-script world (and injected again by
// commands/elements.js where it is missing, hence the guard). It finds
// elements by locator, keeps this document's element registry (ids stay
// valid while the document lives), and performs the actions. The extension
// calls globalThis.__foxpoolElements.call(op, {tabId, frameId}, args); a
// failure comes back as {__error: {code, message}}.
//
// It lives on the content-script global, which the page's own scripts
// cannot see. Events are built here and dispatched into the page, so the
// page sees isTrusted == false.
"use strict";

(() => {
  if (globalThis.__foxpoolElements) return;

  // This document's generation: ids from an earlier document of the frame
  // carry another one and are stale.
  const generation = (Date.now().toString(36) + Math.random().toString(36).slice(2, 8)).replace(/[^0-9a-z]/g, "");
  const registry = new Map();  // n → WeakRef(element)
  const numbers = new WeakMap();  // element → n
  // What was typed into fields whose value the browser sanitises while it
  // is incomplete ("-" or "1." in a number field reads back as ""):
  // field → {text, value}, valid while the field still holds `value`.
  const typed = new WeakMap();
  let nextNumber = 1;

  const MAX_TEXT = 4096;
  const TEXT_FIELD_TYPES = new Set(["text", "search", "url", "tel", "password", "email", "number"]);
  const SELECTION_TYPES = new Set(["text", "search", "url", "tel", "password"]);
  const BUTTON_NUMBERS = { left: 0, middle: 1, right: 2 };
  const BUTTON_BITS = { left: 1, middle: 4, right: 2 };

  class PageError {
    constructor(code, message) {
      this.code = code;
      this.message = message;
    }
  }

  function fail(code, message) {
    throw new PageError(code, message);
  }

  // ------------------------------------------------------------ locators ---

  function describeLocator({ strategy, value }) {
    return `${strategy} ${JSON.stringify(value)}`;
  }

  function normalise(text) {
    return text.replace(/\s+/g, " ").trim();
  }

  // Not text a reader sees.
  const SKIPPED_FOR_TEXT = new Set(["script", "style", "noscript", "template", "head", "title"]);

  // Elements whose text matches, innermost only: an element that matches
  // only because a descendant does is skipped. One pass, bottom-up, so each
  // element's text is built from its children's.
  function byText(value, exact) {
    const wanted = normalise(value);
    const found = [];  // [document order, element]
    let order = 0;
    // Returns [the node's text, whether an element in it matched].
    const visit = (node) => {
      const position = order++;
      let text = "";
      let matchedInside = false;
      for (let child = node.firstChild; child; child = child.nextSibling) {
        if (child.nodeType === Node.TEXT_NODE || child.nodeType === Node.CDATA_SECTION_NODE) {
          text += child.data;
        } else if (child.nodeType === Node.ELEMENT_NODE && !SKIPPED_FOR_TEXT.has(child.localName)) {
          const [childText, childMatched] = visit(child);
          text += childText;
          matchedInside ||= childMatched;
        }
      }
      if (node.nodeType !== Node.ELEMENT_NODE) return [text, matchedInside];
      const own = normalise(text);
      const matched = exact ? own === wanted : own.includes(wanted);
      if (matched && !matchedInside) found.push([position, node]);
      return [text, matched || matchedInside];
    };
    for (const root of [document, ...shadowRoots()]) visit(root);
    return found.sort((a, b) => a[0] - b[0]).map(([, el]) => el);
  }

  function byXPath(value) {
    let snapshot;
    try {
      snapshot = document.evaluate(value, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
    } catch (e) {
      if (e?.name === "TypeError") fail("INVALID_ARGUMENT", `xpath ${JSON.stringify(value)} does not select nodes`);
      fail("INVALID_ARGUMENT", `invalid xpath ${JSON.stringify(value)}: ${e?.message ?? e}`);
    }
    // A text or attribute node stands for its element.
    const out = new Set();
    for (let i = 0; i < snapshot.snapshotLength; i++) {
      const node = snapshot.snapshotItem(i);
      const el = node.nodeType === Node.ELEMENT_NODE ? node : node.nodeType === Node.ATTRIBUTE_NODE ? node.ownerElement : node.parentElement;
      if (el) out.add(el);
    }
    return Array.from(out);
  }

  // The open shadow roots of the document, nested ones included, in
  // document order of their hosts.
  function shadowRoots() {
    const roots = [];
    const visit = (root) => {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.shadowRoot) {
          roots.push(node.shadowRoot);
          visit(node.shadowRoot);
        }
      }
    };
    visit(document);
    return roots;
  }

  // The document's matches, then those inside open shadow roots (a
  // selector does not cross a shadow boundary).
  function byCss(value) {
    try {
      const matches = Array.from(document.querySelectorAll(value));
      for (const root of shadowRoots()) matches.push(...root.querySelectorAll(value));
      return matches;
    } catch (e) {
      fail("INVALID_ARGUMENT", `invalid css selector ${JSON.stringify(value)}: ${e?.message ?? e}`);
    }
  }

  function query(locator) {
    switch (locator.strategy) {
      case "xpath":
        return byXPath(locator.value);
      case "text":
        return byText(locator.value, true);
      case "partial text":
        return byText(locator.value, false);
      default:
        return byCss(locator.value);
    }
  }

  // ------------------------------------------------------------ registry ---

  function idFor(el, { tabId, frameId }) {
    let n = numbers.get(el);
    if (n === undefined) {
      n = nextNumber++;
      numbers.set(el, n);
      registry.set(n, new WeakRef(el));
    }
    return `${tabId}.${frameId}.${generation}.${n}`;
  }

  function byId(id) {
    const [, , gen, number] = id.split(".");
    if (gen !== generation) fail("FAILED_PRECONDITION", `stale element ${id}: its document was replaced`);
    const n = Number(number);
    if (n >= nextNumber) fail("INVALID_ARGUMENT", `unknown element id ${id}`);
    const el = registry.get(n)?.deref();
    if (!el || !el.isConnected) fail("FAILED_PRECONDITION", `stale element ${id}: it is no longer in the document`);
    return el;
  }

  // The element of an {id} / {locator} / {focused} spec.
  function resolve(spec) {
    if (spec?.id) return byId(spec.id);
    if (spec?.focused) return document.activeElement ?? document.body ?? document.documentElement;
    const [first] = query(spec.locator);
    if (!first) fail("NOT_FOUND", `no element matches ${describeLocator(spec.locator)}`);
    return first;
  }

  // ---------------------------------------------------------------- info ---

  function isVisible(el) {
    const rect = el.getBoundingClientRect();
    if (!(rect.width > 0 && rect.height > 0)) return false;
    const visibility = getComputedStyle(el).visibility;
    return visibility !== "hidden" && visibility !== "collapse";
  }

  function limitText(text) {
    if (text.length <= MAX_TEXT / 4) return text;
    let out = text.slice(0, MAX_TEXT);
    const encoder = new TextEncoder();
    while (encoder.encode(out).length > MAX_TEXT) out = out.slice(0, Math.floor(out.length * 0.9));
    return out;
  }

  function describe(el, context) {
    const rect = el.getBoundingClientRect();
    const attributes = {};
    for (const attr of Array.from(el.attributes ?? [])) attributes[attr.name] = attr.value;
    const text = typeof el.innerText === "string" ? el.innerText : (el.textContent ?? "");
    return {
      element_id: idFor(el, context),
      tag_name: el.tagName.toLowerCase(),
      text: limitText(text),
      attributes,
      rect: { x: rect.x, y: rect.y, width: rect.width, height: rect.height },
      visible: isVisible(el),
    };
  }

  // A DOM property as JSON: the page's own view of it first (expandos the
  // page set), then the DOM's.
  function propertyJson(el, name) {
    let value;
    try {
      value = el.wrappedJSObject?.[name];
      if (value === undefined) value = el[name];
      if (typeof value === "function") return "null";
      const json = JSON.stringify(value, (key, v) => (v instanceof Node ? String(v) : v));
      return json === undefined ? "null" : json;
    } catch (e) {
      return JSON.stringify(String(value ?? e));
    }
  }

  // --------------------------------------------------------------- focus ---

  // Whether `el` saw a native `type` event while `action` ran.
  function fires(el, type, action) {
    let seen = false;
    const listener = () => {
      seen = true;
    };
    el.addEventListener(type, listener, true);
    try {
      action();
    } finally {
      el.removeEventListener(type, listener, true);
    }
    return seen;
  }

  // Focus and blur events as a focused window has them. Headless Firefox's
  // window never has system focus (document.hasFocus() is false), so
  // el.focus() moves document.activeElement without any event: the events
  // are then dispatched here.
  function announceFocusChange(from, to) {
    const away = from && from !== document.body && from !== to ? from : null;
    if (away) {
      away.dispatchEvent(new FocusEvent("blur", { relatedTarget: to, composed: true }));
      away.dispatchEvent(new FocusEvent("focusout", { bubbles: true, relatedTarget: to, composed: true }));
    }
    if (to) {
      to.dispatchEvent(new FocusEvent("focus", { relatedTarget: away, composed: true }));
      to.dispatchEvent(new FocusEvent("focusin", { bubbles: true, relatedTarget: away, composed: true }));
    }
  }

  function focusOnly(el) {
    const previous = document.activeElement;
    if (previous === el) return;
    const native = fires(el, "focus", () => el.focus());
    if (!native && document.activeElement === el) announceFocusChange(previous, el);
  }

  function blurActive() {
    const previous = document.activeElement;
    if (!previous || previous === document.body) return;
    const native = fires(previous, "blur", () => previous.blur());
    if (!native && document.activeElement !== previous) announceFocusChange(previous, null);
  }

  // Focuses a field with the caret at the end of its text.
  function focusElement(el) {
    if (document.activeElement === el) return;
    focusOnly(el);
    if (isTextField(el) && SELECTION_TYPES.has(el.type ?? "text")) {
      el.setSelectionRange(el.value.length, el.value.length);
    } else if (el.isContentEditable) {
      caretToEnd(el);
    }
  }

  function caretIntoEditable(el) {
    const selection = getSelection();
    if (!selection.rangeCount || !el.contains(selection.anchorNode)) caretToEnd(el);
  }

  function caretToEnd(el) {
    const selection = getSelection();
    const range = document.createRange();
    range.selectNodeContents(el);
    range.collapse(false);
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // --------------------------------------------------------------- mouse ---

  function centre(el) {
    const rect = el.getBoundingClientRect();
    return { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 };
  }

  function modifierFlags(modifiers = []) {
    return {
      shiftKey: modifiers.includes("shift"),
      ctrlKey: modifiers.includes("control"),
      altKey: modifiers.includes("alt"),
      metaKey: modifiers.includes("meta"),
    };
  }

  function mouseEvent(type, el, point, extra) {
    const bubbles = type !== "mouseenter" && type !== "mouseleave" && type !== "pointerenter" && type !== "pointerleave";
    const init = {
      bubbles,
      cancelable: bubbles,
      composed: true,
      view: window,
      clientX: point.x,
      clientY: point.y,
      screenX: point.x + window.mozInnerScreenX,
      screenY: point.y + window.mozInnerScreenY,
      ...extra,
    };
    const event = type.startsWith("pointer")
      ? new PointerEvent(type, { pointerId: 1, pointerType: "mouse", isPrimary: true, ...init })
      : new MouseEvent(type, init);
    return el.dispatchEvent(event);
  }

  function pointTo(el, point, flags) {
    for (const type of ["pointerover", "pointerenter", "mouseover", "mouseenter", "pointermove", "mousemove"]) {
      mouseEvent(type, el, point, { ...flags, button: 0, buttons: 0 });
    }
  }

  function scrollToCentre(el) {
    el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
  }

  function requireActionable(el) {
    scrollToCentre(el);
    if (!isVisible(el)) fail("FAILED_PRECONDITION", `element <${el.localName}> is not visible`);
    if (el.matches(":disabled")) fail("FAILED_PRECONDITION", `element <${el.localName}> is disabled`);
  }

  // What a mouse press focuses: the element or its nearest focusable
  // ancestor; pressing elsewhere blurs the focused element.
  function focusOnPress(el) {
    for (let node = el; node; node = node.parentElement) {
      if (node.matches(":disabled")) return;
      if (node.hasAttribute("tabindex") || node.tabIndex >= 0 || node.isContentEditable) {
        focusOnly(node);
        return;
      }
    }
    blurActive();
  }

  function click(el, { button = "left", count = 1, modifiers = [] }) {
    requireActionable(el);
    const point = centre(el);
    const flags = modifierFlags(modifiers);
    const number = BUTTON_NUMBERS[button];
    const bit = BUTTON_BITS[button];
    pointTo(el, point, flags);
    for (let detail = 1; detail <= count; detail++) {
      const press = { ...flags, button: number, detail };
      mouseEvent("pointerdown", el, point, { ...press, buttons: bit });
      if (mouseEvent("mousedown", el, point, { ...press, buttons: bit })) focusOnPress(el);
      mouseEvent("pointerup", el, point, { ...press, buttons: 0 });
      mouseEvent("mouseup", el, point, { ...press, buttons: 0 });
      // A dispatched click runs the element's activation behaviour (links
      // follow, checkboxes toggle, submit buttons submit), as el.click() does.
      if (button === "left") mouseEvent("click", el, point, { ...press, buttons: 0 });
      else if (button === "middle") mouseEvent("auxclick", el, point, { ...press, buttons: 0 });
    }
    if (button === "left" && count === 2) mouseEvent("dblclick", el, point, { ...flags, button: 0, buttons: 0, detail: 2 });
    if (button === "right") mouseEvent("contextmenu", el, point, { ...flags, button: 2, buttons: 0, detail: 1 });
  }

  function hover(el) {
    scrollToCentre(el);
    if (!isVisible(el)) fail("FAILED_PRECONDITION", `element <${el.localName}> is not visible`);
    pointTo(el, centre(el), modifierFlags());
  }

  // ----------------------------------------------------------- keyboard ---

  const KEY_CODES = {
    Enter: 13, Tab: 9, Backspace: 8, Escape: 27, " ": 32, Delete: 46, Insert: 45,
    ArrowLeft: 37, ArrowUp: 38, ArrowRight: 39, ArrowDown: 40, Home: 36, End: 35, PageUp: 33, PageDown: 34,
    Shift: 16, Control: 17, Alt: 18, Meta: 224, CapsLock: 20, ContextMenu: 93,
  };
  const MODIFIER_KEYS = new Set(["Shift", "Control", "Alt", "Meta"]);
  const PUNCTUATION = {
    ";": ["Semicolon", 59], "=": ["Equal", 61], ",": ["Comma", 188], "-": ["Minus", 173], ".": ["Period", 190],
    "/": ["Slash", 191], "`": ["Backquote", 192], "[": ["BracketLeft", 219], "\\": ["Backslash", 220],
    "]": ["BracketRight", 221], "'": ["Quote", 222],
  };

  function keyIdentity(key) {
    if (MODIFIER_KEYS.has(key)) return { code: `${key}Left`, keyCode: KEY_CODES[key] };
    if (KEY_CODES[key] !== undefined && key !== " ") return { code: key, keyCode: KEY_CODES[key] };
    if (/^F([1-9]|1[0-2])$/.test(key)) return { code: key, keyCode: 111 + Number(key.slice(1)) };
    if (key === " ") return { code: "Space", keyCode: 32 };
    if (/^[a-z]$/i.test(key)) return { code: `Key${key.toUpperCase()}`, keyCode: key.toUpperCase().charCodeAt(0) };
    if (/^[0-9]$/.test(key)) return { code: `Digit${key}`, keyCode: key.charCodeAt(0) };
    const [code, keyCode] = PUNCTUATION[key] ?? ["", 0];
    return { code, keyCode };
  }

  function isPrintable(key) {
    return Array.from(key).length === 1;
  }

  function keyEvent(type, target, key, flags) {
    const { code, keyCode } = keyIdentity(key);
    const init = { key, code, bubbles: true, cancelable: true, composed: true, view: window, ...flags };
    if (type === "keypress") {
      init.charCode = key === "Enter" ? 13 : key.codePointAt(0);
      init.keyCode = key === "Enter" ? 13 : 0;
    } else {
      init.keyCode = keyCode;
    }
    return target.dispatchEvent(new KeyboardEvent(type, init));
  }

  function isTextField(el) {
    return el.localName === "textarea" || (el.localName === "input" && TEXT_FIELD_TYPES.has(el.type));
  }

  function requireEditable(el) {
    if (!isTextField(el) && !el.isContentEditable) {
      fail("FAILED_PRECONDITION", `element <${el.localName}${el.type ? ` type=${el.type}` : ""}> is not editable`);
    }
    if (el.matches(":disabled")) fail("FAILED_PRECONDITION", `element <${el.localName}> is disabled`);
    if (el.readOnly) fail("FAILED_PRECONDITION", `element <${el.localName}> is read-only`);
  }

  // Changes a text field's value as an edit would: beforeinput (the page may
  // cancel it), the change through the DOM's own setter (so frameworks that
  // watch the instance property still see a change), then input.
  function editField(el, inputType, text, compute) {
    const data = inputType === "insertText" ? text : null;
    const before = new InputEvent("beforeinput", { bubbles: true, cancelable: true, composed: true, inputType, data });
    if (!el.dispatchEvent(before)) return;
    if (el.localName === "textarea" || SELECTION_TYPES.has(el.type)) {
      const [start, end] = compute([el.selectionStart, el.selectionEnd], el.value);
      el.setRangeText(text, start, end, "end");
    } else {
      const memory = typed.get(el);
      const current = memory && memory.value === el.value ? memory.text : el.value;
      const [start, end] = compute([current.length, current.length], current);
      const next = current.slice(0, start) + text + current.slice(end);
      el.value = next;
      typed.set(el, { text: next, value: el.value });
    }
    el.dispatchEvent(new InputEvent("input", { bubbles: true, composed: true, inputType, data }));
  }

  function insertText(el, text) {
    if (el.isContentEditable) {
      caretIntoEditable(el);
      if (text === "\n") document.execCommand("insertParagraph", false);
      else document.execCommand("insertText", false, text);
      return;
    }
    editField(el, text === "\n" ? "insertLineBreak" : "insertText", text, (range) => range);
  }

  function deleteText(el, forward) {
    if (el.isContentEditable) {
      caretIntoEditable(el);
      document.execCommand(forward ? "forwardDelete" : "delete", false);
      return;
    }
    editField(el, forward ? "deleteContentForward" : "deleteContentBackward", "", ([start, end], value) => {
      if (start !== end) return [start, end];
      return forward ? [start, Math.min(value.length, start + 1)] : [Math.max(0, start - 1), start];
    });
  }

  function clearField(el) {
    if (el.isContentEditable) {
      const range = document.createRange();
      range.selectNodeContents(el);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      if (el.textContent !== "") document.execCommand("delete", false);
      return;
    }
    if (el.value !== "") editField(el, "deleteContentBackward", "", (_, value) => [0, value.length]);
  }

  // Implicit submission: the form's default button is clicked, or the form
  // submitted when it has none.
  function submitImplicitly(field) {
    const form = field.form;
    if (!form) return;
    const defaultButton = Array.from(form.elements).find(
      (e) => (e.localName === "button" && e.type === "submit") || (e.localName === "input" && (e.type === "submit" || e.type === "image")),
    );
    if (defaultButton) {
      if (!defaultButton.matches(":disabled")) defaultButton.click();
      return;
    }
    form.requestSubmit();
  }

  function tabbable() {
    const candidates = Array.from(document.querySelectorAll(
      "a[href], area[href], button, input, select, textarea, iframe, summary, [tabindex], [contenteditable]",
    )).filter((e) => e.tabIndex >= 0 && !e.matches(":disabled") && e.type !== "hidden" && isVisible(e));
    const positive = candidates.filter((e) => e.tabIndex > 0).sort((a, b) => a.tabIndex - b.tabIndex);
    return [...positive, ...candidates.filter((e) => e.tabIndex === 0)];
  }

  // Tab / Shift+Tab: the next focusable element in tab order, wrapping
  // around (a real window would move to its toolbar instead).
  function moveFocus(from, backwards) {
    const order = tabbable();
    if (order.length === 0) return;
    let index = order.indexOf(from);
    if (index < 0) {
      const after = order.findIndex((e) => from.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);
      index = backwards ? (after < 0 ? order.length : after) : (after < 0 ? order.length : after) - 1;
    }
    const next = order[(index + (backwards ? -1 : 1) + order.length) % order.length];
    focusOnly(next);
    if (isTextField(next) && SELECTION_TYPES.has(next.type ?? "text")) next.select();
  }

  // What the browser does for an unprevented key press on `el`.
  function keyDefault(el, key, flags) {
    const editable = isTextField(el) || el.isContentEditable;
    const command = flags.ctrlKey || flags.metaKey || flags.altKey;
    if (key === "Tab") return moveFocus(el, flags.shiftKey);
    if (key === "Enter") {
      if (el.localName === "textarea" || el.isContentEditable) return insertText(el, "\n");
      if (el.localName === "input") return submitImplicitly(el);
      if (el.matches("a[href], button, summary, input[type=submit], input[type=button], input[type=reset]")) el.click();
      return undefined;
    }
    if (editable && !el.readOnly && !el.matches(":disabled")) {
      if (key === "Backspace") return deleteText(el, false);
      if (key === "Delete") return deleteText(el, true);
      if (isPrintable(key) && !command) return insertText(el, key);
    }
    return undefined;
  }

  // keydown, keypress (characters and Enter), the default action unless a
  // handler prevented it, keyup. Space activates buttons on keyup.
  function pressKey(el, key, modifiers) {
    const flags = modifierFlags(modifiers);
    if (isPrintable(key) && /[A-Z]/.test(key)) flags.shiftKey = true;
    let proceed = keyEvent("keydown", el, key, flags);
    if (proceed && (isPrintable(key) || key === "Enter") && !flags.ctrlKey && !flags.metaKey) {
      proceed = keyEvent("keypress", el, key, flags);
    }
    const activate = key === " " && el.matches("button, input[type=checkbox], input[type=radio], input[type=submit], input[type=button], input[type=reset]");
    if (proceed && !activate) keyDefault(el, key, flags);
    keyEvent("keyup", document.activeElement ?? el, key, flags);
    if (proceed && activate) el.click();
  }

  function typeText(el, { text, clear }) {
    requireEditable(el);
    scrollToCentre(el);
    focusElement(el);
    if (el.isContentEditable) caretIntoEditable(el);
    const before = el.isContentEditable ? null : el.value;
    if (clear) clearField(el);
    for (const ch of text) {
      if (ch === "\n" && el.localName === "input") {
        pressKey(el, "Enter", []);
        continue;
      }
      const key = ch === "\n" ? "Enter" : ch;
      const flags = modifierFlags();
      if (/[A-Z]/.test(ch)) flags.shiftKey = true;
      if (keyEvent("keydown", el, key, flags) && keyEvent("keypress", el, key, flags)) insertText(el, ch);
      keyEvent("keyup", el, key, flags);
    }
    if (before !== null && el.value !== before) el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // ------------------------------------------------------------ controls ---

  function selectOptions(el, values) {
    if (el.localName !== "select") fail("FAILED_PRECONDITION", `element <${el.localName}> is not a <select>`);
    if (el.matches(":disabled")) fail("FAILED_PRECONDITION", "the <select> is disabled");
    if (values.length === 0 && !el.multiple) fail("INVALID_ARGUMENT", "values must name an option");
    const options = Array.from(el.options);
    let chosen = values.map((value) => {
      const option = options.find((o) => o.value === value) ?? options.find((o) => o.label === value || o.text.trim() === value);
      if (!option) fail("NOT_FOUND", `no option with value or label ${JSON.stringify(value)}`);
      return option;
    });
    if (!el.multiple) chosen = chosen.slice(0, 1);
    for (const option of options) option.selected = chosen.includes(option);
    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return Array.from(el.selectedOptions, (o) => o.value);
  }

  // Clicks a checkbox or radio button whose state differs; a hidden one
  // styled through its label is clicked through the label.
  function setChecked(el, checked) {
    if (el.localName !== "input" || (el.type !== "checkbox" && el.type !== "radio")) {
      fail("FAILED_PRECONDITION", `element <${el.localName}> is not a checkbox or radio button`);
    }
    if (el.checked === checked) return;
    if (el.type === "radio" && !checked) {
      fail("FAILED_PRECONDITION", "a radio button cannot be unchecked: check another of its group");
    }
    const label = Array.from(el.labels ?? []).find((l) => isVisible(l));
    scrollToCentre(el);
    click(!isVisible(el) && label ? label : el, {});
    if (el.checked !== checked) fail("FAILED_PRECONDITION", `the page kept the ${el.type} ${checked ? "unchecked" : "checked"}`);
  }

  function decodeBase64(content) {
    const binary = atob(content);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function upload(el, files) {
    if (el.localName !== "input" || el.type !== "file") {
      fail("FAILED_PRECONDITION", `element <${el.localName}> is not an <input type=file>`);
    }
    if (el.matches(":disabled")) fail("FAILED_PRECONDITION", "the file input is disabled");
    if (files.length > 1 && !el.multiple) {
      fail("INVALID_ARGUMENT", `${files.length} files for a file input without the multiple attribute`);
    }
    const transfer = new DataTransfer();
    for (const file of files) transfer.items.add(new File([decodeBase64(file.content)], file.name, { type: file.type }));
    el.files = transfer.files;
    el.dispatchEvent(new Event("input", { bubbles: true, composed: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // ---------------------------------------------------------------- wait ---

  // Events that change what is visible without a DOM mutation: a
  // stylesheet or image finishing its load, an animation or transition
  // ending, the viewport changing size.
  const LAYOUT_EVENTS = ["load", "transitionend", "animationend", "resize"];
  const OBSERVED = { childList: true, subtree: true, attributes: true, characterData: true };

  // Settles when a match of the locator reaches `state`, checking at the
  // start, after every DOM mutation (attributes too, so class and style
  // changes count) and after layout events; at the timeout, one last check,
  // then DEADLINE_EXCEEDED.
  function waitFor(context, { locator, state, ms, total }) {
    const check = () => {
      const matches = query(locator);
      switch (state) {
        case "visible": {
          const el = matches.find(isVisible);
          return el ? { element: describe(el, context) } : null;
        }
        case "hidden":
          return matches.some(isVisible) ? null : {};
        case "detached":
          return matches.length ? null : {};
        default:
          return matches.length ? { element: describe(matches[0], context) } : null;
      }
    };
    return new Promise((resolve) => {
      let observer = null;
      let timer = null;
      let done = false;
      const finish = (outcome) => {
        if (done) return;
        done = true;
        observer?.disconnect();
        for (const type of LAYOUT_EVENTS) window.removeEventListener(type, attempt, true);
        clearTimeout(timer);
        resolve(outcome);
      };
      const observed = new Set();
      const attempt = () => {
        try {
          // Mutations inside shadow roots do not reach the document's observer.
          for (const root of shadowRoots()) {
            if (!observed.has(root)) observer.observe(root, OBSERVED);
            observed.add(root);
          }
          const found = check();
          if (found) finish({ ...found, url: location.href });
        } catch (e) {
          finish(toError(e));
        }
      };
      observer = new MutationObserver(attempt);
      observer.observe(document, OBSERVED);
      for (const type of LAYOUT_EVENTS) window.addEventListener(type, attempt, true);
      timer = setTimeout(() => {
        attempt();
        finish({
          __error: {
            code: "DEADLINE_EXCEEDED",
            message: `no element matching ${describeLocator(locator)} became ${state} within ${Math.round(total ?? ms)} ms`,
          },
        });
      }, ms);
      attempt();
    });
  }

  // ---------------------------------------------------------------- call ---

  function toError(e) {
    if (e instanceof PageError) return { __error: { code: e.code, message: e.message } };
    return { __error: { code: "INTERNAL", message: `${e?.name ?? "Error"}: ${e?.message ?? e}` } };
  }

  const OPERATIONS = {
    inspect: (el, context) => ({ element: describe(el, context) }),
    get: (el, context, { properties }) => ({
      element: describe(el, context),
      properties: Object.fromEntries(properties.map((name) => [name, propertyJson(el, name)])),
    }),
    click: (el, context, args) => {
      click(el, args);
      return { element: describe(el, context) };
    },
    type: (el, context, args) => {
      typeText(el, args);
      return { element: describe(el, context) };
    },
    press: (el, context, { key, modifiers }) => {
      if (document.activeElement !== el && el !== document.body) focusElement(el);
      pressKey(el, key, modifiers);
      return { element: describe(el, context) };
    },
    focus: (el, context) => {
      focusElement(el);
      return { element: describe(el, context) };
    },
    hover: (el, context) => {
      hover(el);
      return { element: describe(el, context) };
    },
    scroll_into_view: (el, context) => {
      scrollToCentre(el);
      return { element: describe(el, context) };
    },
    select: (el, context, { values }) => ({ selected: selectOptions(el, values) }),
    set_checked: (el, context, { checked }) => {
      setChecked(el, checked);
      return { element: describe(el, context) };
    },
    upload: (el, context, { files }) => {
      upload(el, files);
      return { element: describe(el, context) };
    },
  };

  function call(op, context, args) {
    try {
      if (op === "find_all") {
        return { elements: query(args.locator).slice(0, args.limit).map((el) => describe(el, context)) };
      }
      if (op === "wait") return waitFor(context, args);
      const operation = OPERATIONS[op];
      if (!operation) fail("UNIMPLEMENTED", `unknown element operation ${op}`);
      return operation(resolve(args.element), context, args);
    } catch (e) {
      return toError(e);
    }
  }

  globalThis.__foxpoolElements = { call };
})();
