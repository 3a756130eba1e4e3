import type { Link } from "../api/queries";
import { percent, refText } from "../format";
import { linkKey, pairKey } from "../graph/elements";
import { RouteLink } from "../components/RouteLink";

interface Props {
  links: Link[];
  selected: string | null;
  cut: ReadonlySet<string>;
  onSelect: (key: string) => void;
  /** A steward who may name identifiers unlinks from the row itself. */
  onUnlink?: (key: string) => void;
  /** Explain needs the identifiers in the clear: not offered to a masked view. */
  explain: boolean;
}

/** The picture's links (one row each: ProfilePage gives each once) as a table: what a screen reader or a keyboard uses instead of the
 * canvas, and where a link is picked for its details or to unlink it. */
export function LinksTable({ links, selected, cut, onSelect, onUnlink, explain }: Props) {
  return (
    <table className="links">
      <caption>Links ({links.length})</caption>
      <thead>
        <tr><th scope="col">Between</th><th scope="col">Rule</th><th scope="col" className="number">Strength</th>
          <th scope="col">State</th><th scope="col" className="number">Events</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
      </thead>
      <tbody>
        {links.map((link) => {
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
                {onUnlink && link.isActive && (
                  <button type="button" onClick={() => onUnlink(key)} aria-label={`Unlink ${refText(link.a)} from ${refText(link.b)}`}>Unlink…</button>
                )}
                {explain && <RouteLink route={{ page: "explain", a: refText(link.a), b: refText(link.b) }} label={`Explain ${refText(link.a)} and ${refText(link.b)}`}>Explain</RouteLink>}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
