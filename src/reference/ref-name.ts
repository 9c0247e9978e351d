/**
 * The tag of an image name an OCI layout records (`org.opencontainers.image.ref.name`,
 * containerd's `io.containerd.image.name`) or a user names after a layout's path
 * (`oci:DIR:NAME`, `oci-archive:FILE:NAME`), read as the runtimes that import layouts read it
 * (docs/checks.md, check 1):
 * - a name without '/', ':' or '@' is a tag (the OCI meaning; containerd's import puts it
 *   after its import prefix);
 * - anything else is a full image name (containerd's archive refTranslator), read as a Docker
 *   reference by containerd's clients (ParseDockerRef) and podman (NormalizeName): the tag is
 *   what follows the last ':' after the last '/' (so not a registry port), a digest wins over a
 *   tag, and a name with neither is `latest`.
 * So `localhost/app:latest`, `example.com/team/app:latest`, `name:latest` and
 * `example.com:5000/app` are all `latest`. (podman also reads a bare name as an image name,
 * `1.0` → `localhost/1.0:latest`; containerd reads it as the tag, which is what the layout
 * means by it.)
 */

/** The tag or the digest a runtime names an imported image with. */
export type NameTag = { readonly tag: string; readonly digest?: undefined } | { readonly digest: string; readonly tag?: undefined };

/** The tag (or digest) of `name`, an index.json entry's image name or the NAME of `oci:DIR:NAME`. */
export function tagOfImageName(name: string): NameTag {
  if (!/[/:@]/.test(name)) return { tag: name };
  const at = name.indexOf('@');
  if (at >= 0) return { digest: name.slice(at + 1) };
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? { tag: name.slice(colon + 1) } : { tag: 'latest' };
}
