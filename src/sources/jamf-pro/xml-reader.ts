// A small, strict XML reader for the Jamf Pro Classic API's answers, which are tiny and flat
// (`<webhooks><size/><webhook><id/><name/></webhook>…</webhooks>`, one `<webhook>` of a dozen text
// elements). Elements, text, CDATA, comments, the XML declaration and the five predefined and numeric
// character references; attributes are read past and ignored. A DOCTYPE is refused, so no entity is
// ever expanded. Anything malformed throws: an answer Orchard cannot read is an error, never a guess.
// (A library such as fast-xml-parser would do, but coerces `<id>` to numbers and trims by default and
// would need configuring against that; these shapes do not need one.)

export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlElement[];
  /** The element's own text (CDATA included), entities decoded, not trimmed. */
  readonly text: string;
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string, at: () => string): string {
  return text.replace(/&([^;&\s]{1,10});|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) throw new SyntaxError(`a bare & ${at()}`);
    if (ref in PREDEFINED) return PREDEFINED[ref]!;
    const code = /^#x([0-9a-f]+)$/i.exec(ref) ? parseInt(ref.slice(2), 16) : /^#(\d+)$/.test(ref) ? Number(ref.slice(1)) : NaN;
    if (!Number.isInteger(code) || code > 0x10ffff) throw new SyntaxError(`an unknown entity ${whole} ${at()}`);
    return String.fromCodePoint(code);
  });
}

/** The document's root element; throws SyntaxError, naming the offset, when it is not well-formed XML. */
export function readXml(source: string): XmlElement {
  let i = source.charCodeAt(0) === 0xfeff ? 1 : 0;
  const at = () => `at offset ${i}`;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} ${at()}`);
  };
  const skipMisc = () => {
    for (;;) {
      while (i < source.length && /\s/.test(source[i]!)) i++;
      if (source.startsWith('<?', i)) {
        const end = source.indexOf('?>', i);
        if (end < 0) fail('an unterminated declaration');
        i = end + 2;
      } else if (source.startsWith('<!--', i)) {
        const end = source.indexOf('-->', i);
        if (end < 0) fail('an unterminated comment');
        i = end + 3;
      } else if (source.startsWith('<!DOCTYPE', i) || source.startsWith('<!doctype', i)) {
        fail('a DOCTYPE (not accepted)');
      } else return;
    }
  };
  const name = (): string => {
    NAME.lastIndex = i;
    const m = NAME.exec(source);
    if (!m) fail('a name expected');
    i += m![0].length;
    return m![0];
  };
  const element = (depth: number): XmlElement => {
    if (depth > 32) fail('elements nested too deep');
    if (source[i] !== '<') fail('an element expected');
    i++;
    const tag = name();
    // Attributes: read past.
    for (;;) {
      const m = /^\s*(?:([A-Za-z_][\w.:-]*)\s*=\s*("[^"<]*"|'[^'<]*'))?/.exec(source.slice(i, i + 4096))!;
      if (m[1] === undefined) {
        i += m[0].length;
        break;
      }
      i += m[0].length;
    }
    if (source.startsWith('/>', i)) {
      i += 2;
      return { name: tag, children: [], text: '' };
    }
    if (source[i] !== '>') fail(`a > expected in <${tag}>`);
    i++;
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = source.indexOf('<', i);
      if (lt < 0) fail(`</${tag}> expected`);
      text += decode(source.slice(i, lt), at);
      i = lt;
      if (source.startsWith('</', i)) {
        i += 2;
        if (name() !== tag) fail(`</${tag}> expected`);
        while (/\s/.test(source[i] ?? '')) i++;
        if (source[i] !== '>') fail('a > expected');
        i++;
        return { name: tag, children, text };
      }
      if (source.startsWith('<![CDATA[', i)) {
        const end = source.indexOf(']]>', i);
        if (end < 0) fail('an unterminated CDATA section');
        text += source.slice(i + 9, end);
        i = end + 3;
      } else if (source.startsWith('<!--', i)) {
        const end = source.indexOf('-->', i);
        if (end < 0) fail('an unterminated comment');
        i = end + 3;
      } else if (source.startsWith('<?', i) || source.startsWith('<!', i)) {
        fail('markup not accepted inside an element');
      } else {
        children.push(element(depth + 1));
      }
    }
  };
  skipMisc();
  const root = element(0);
  skipMisc();
  if (i < source.length) fail('content after the root element');
  return root;
}

/** The text of the first child named `name`, or undefined. */
export function childText(element: XmlElement, name: string): string | undefined {
  return element.children.find((c) => c.name === name)?.text;
}

/** Text escaped for an XML element's content. */
export function xmlText(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
