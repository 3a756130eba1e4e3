import type { Profile } from "../api/queries";
import { refText, when } from "../format";

interface Props {
  profile: Profile;
  /** In split mode: the identifiers picked for the new side, and how to pick one. */
  picked?: ReadonlySet<string>;
  onPick?: (ref: string) => void;
}

/** Identifiers by kind; in split mode each has a checkbox, the keyboard's way to pick what
 * the graph's clicks pick. */
export function Identifiers({ profile, picked, onPick }: Props) {
  return (
    <section aria-labelledby="identifiers-title" className="identifiers">
      <h2 id="identifiers-title">Identifiers</h2>
      {profile.identifiers.map((group) => (
        <div key={group.kind} className="kind-group">
          <h3>{group.kind.replace(/_/g, " ")} <span className="count">({group.identifiers.length})</span></h3>
          <ul>
            {group.identifiers.map((node) => {
              const ref = refText(node);
              return (
                <li key={ref}>
                  {onPick ? (
                    <label>
                      <input type="checkbox" checked={picked?.has(ref) ?? false} onChange={() => onPick(ref)} />
                      {" "}{node.value}
                    </label>
                  ) : (
                    <span className="value">{node.value}</span>
                  )}
                  <span className="seen"> seen {when(node.firstSeen)} – {when(node.lastSeen)}</span>
                  {node.hubReason && <span className="badge warn" title={node.hubReason}>shared: no longer links</span>}
                </li>
              );
            })}
          </ul>
        </div>
      ))}
    </section>
  );
}
