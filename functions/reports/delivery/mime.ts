import { randomUUID } from 'node:crypto';
import { type MailMessage, oneLine } from './ports';

/** RFC 2047 §2: an encoded-word is at most 75 characters; `=?UTF-8?B?` and `?=` take 12 of them. */
const MAX_ENCODED_WORD = 75;
/** RFC 5322 §2.1.1: lines of at most 78 characters. */
const MAX_LINE = 78;
/** Bytes an encoded-word of at most `chars` characters carries: whole base64 quads only (75 → 15 quads, 45 bytes). */
const payloadBytes = (chars: number) => Math.floor((Math.min(chars, MAX_ENCODED_WORD) - 12) / 4) * 3;

/**
 * A header value that needs encoding: anything not printable ASCII, and text that a mail client would take for an
 * encoded-word (`=?…?=`) — sent as is, `=?UTF-8?B?…?=` in a title would be decoded by the reader's client into
 * whatever it hides (line breaks, a right-to-left override). Encoded, it reads as the characters it is.
 */
const needsEncoding = (value: string) => !/^[\x20-\x7e]*$/.test(value) || value.includes('=?');

/**
 * RFC 2047 B-encoded words of at most 75 characters each, split between characters (never inside a UTF-8
 * sequence or a surrogate pair), for a header folded after each word.
 */
export function encodedWords(value: string, firstWordMax = MAX_ENCODED_WORD): string[] {
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (size === 0) return;
    words.push(`=?UTF-8?B?${Buffer.concat(chunk).toString('base64')}?=`);
    chunk = [];
    size = 0;
  };
  for (const ch of value) {
    const bytes = Buffer.from(ch, 'utf8');
    if (size + bytes.length > payloadBytes(words.length === 0 ? firstWordMax : MAX_ENCODED_WORD)) flush();
    chunk.push(bytes);
    size += bytes.length;
  }
  flush();
  return words;
}

/** `Name: value`, encoded when it must be and folded (CRLF + space) between encoded-words, so no line exceeds 78. */
export function headerLine(name: string, value: string): string {
  const single = oneLine(value);
  if (!needsEncoding(single)) return `${name}: ${single}`;
  // The first word shares its line with the field name; each further one has a line of its own after a space.
  return `${name}: ${encodedWords(single, MAX_LINE - name.length - 2).join('\r\n ')}`;
}

/**
 * An RFC 5322 message with a UTF-8 text body, left readable (8bit: our lines are far below 998 octets), marked
 * `Auto-Submitted: auto-generated` (RFC 3834) so that auto-responders do not answer it. Header values are
 * one-lined here too (a line break in a raw header is header injection). The same bytes go to SES (raw) and to
 * the local outbox.
 */
export function toEml(message: MailMessage, from: string, date = new Date(), domain = 'charge-records.local'): string {
  const body = message.text.replace(/\r?\n/g, '\r\n');
  return [
    `From: ${oneLine(from)}`,
    `To: ${message.to.map(oneLine).join(', ')}`,
    headerLine('Subject', message.subject),
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomUUID()}@${domain}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '',
  ].join('\r\n');
}

/** Bidi controls reorder what a reader sees: in text a mail shows (a title saved before they were refused), U+FFFD. */
export const visibleText = (text: string) => text.replace(/[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g, '\uFFFD');
