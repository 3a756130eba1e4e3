import type { Link } from "../api/queries";
import { percent, refText } from "../format";
import { linkKey, pairKey } from "../graph/elements";
import { href } from "../routing";

interface Props {
  links: Link[];
  selected: string | null;
  cut: ReadonlySet<string>;
  onSelect: (key: string) => void;
}

/** The picture's links as a table: what a screen reader or a keyboard uses instead of the
 * canvas, and where a link is picked for its details or to unlink it. */
export function LinksTable({ links, selected, cut, onSelect }: Props) {
  const seen = new Set<string>();
  const unique = links.filter((link) => {
    const key = linkKey(link);
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return (
    <table className="links">
      <caption>Links ({unique.length})</caption>
      <thead>
        <tr><th scope="col">Between</th><th scope="col">Rule</th><th scope="col" className="number">Strength</th>
          <th scope="col">State</th><th scope="col" className="number">Events</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
      </thead>
      <tbody>
        {unique.map((link) => {
          const key = linkKey(link);
          const isCut = link.isActive && cut.has(pairKey(link.a, link.b));
          return (
            <tr key={key} aria-selected={selected === key} className={[selected === key ? "selected" : "", isCut ? "cut" : ""].join(" ")}>
              <td><code>{refText(link.a)}</code> — <code>{refText(link.b)}</code></td>
              <td>{link.rule.replace(/_/g, " ")}</td>
              <td className="number">{link.score == null ? "—" : percent(link.score)}</td>
              <td>{isCut ? <strong>cut by the split</strong> : link.isActive ? "active" : <>held apart: {link.inactiveReason ?? link.rule}</>}</td>
              <td className="number">{link.eventCount}</td>
              <td className="actions">
                <button type="button" onClick={() => onSelect(key)} aria-label={`Details of the link ${refText(link.a)} to ${refText(link.b)}`}>Details</button>
                <a href={href({ page: "explain", a: refText(link.a), b: refText(link.b) })}>Explain</a>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
