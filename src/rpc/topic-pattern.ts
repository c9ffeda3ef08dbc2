/**
 * AMQP topic-exchange matching, for the in-process transport to route events exactly as RabbitMQ does:
 * words are separated by dots, `*` matches exactly one word, `#` matches zero or more words.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  const seen = new Map<number, boolean>();
  // Memoized on (i, j) so patterns with several `#` stay linear-ish instead of exponential.
  const match = (i: number, j: number): boolean => {
    const id = i * (k.length + 1) + j;
    const known = seen.get(id);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === k.length;
    else if (p[i] === '#') result = match(i + 1, j) || (j < k.length && match(i, j + 1));
    else result = j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
    seen.set(id, result);
    return result;
  };
  return match(0, 0);
}
