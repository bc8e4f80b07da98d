"""Archival provenance: what FaceBridge changed, recorded as XMP in every file it writes.

IPTC's Digital Source Type `compositeWithTrainedAlgorithmicMedia` says the picture is a composite with elements
from a trained model; the FaceBridge fields say which model (name and SHA-256), how it was run (steps, sampler,
seed, background upscaler), when, and which regions it redrew (boxes in output pixels, with each face's
identity distance when it was measured). The input's own XMP is kept: a new rdf:Description is added beside its
own, nothing of it is removed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "facebridge": "urn:x-facebridge:ns:restoration:1.0/",  # our own fields (a URN: no web address implied)
}
PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"  # the XMP specification's fixed packet id


@dataclass(frozen=True)
class RestoredRegion:
    box: tuple[int, int, int, int]  # x, y, width, height in output pixels
    identity: Optional[float] = None  # dlib distance input -> restored, when measured


@dataclass(frozen=True)
class Provenance:
    software: str
    model: str
    model_sha256: str
    steps: int
    sampler: str
    seed: int
    upscaler: str  # "" when the photo kept its size; the network's title (engine/upscale/catalog.py) or "Lanczos"
    upscale: float
    restored_at: str  # the date (ISO 8601, UTC): a day, not a time, so the same restoration gives the same bytes
    regions: tuple[RestoredRegion, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["digital_source_type"] = DIGITAL_SOURCE_TYPE
        d["regions"] = [{"box": list(r.box), "identity": r.identity} for r in self.regions]
        return d

    def summary(self) -> str:
        """The plain-language line the app shows."""
        faces = len(self.regions)
        return (f"{faces} face{'s' * (faces != 1)} restored by FaceBridge with model {self.model} "
                f"({self.steps} step{'s' * (self.steps != 1)}); this is recorded in the saved file")


def now_iso() -> str:
    """Today's date in UTC. The day is what an archive needs; a time of day would make every run's output differ
    (the app, the batch and the CLI give byte-identical files for the same settings)."""
    return datetime.now(timezone.utc).date().isoformat()


@lru_cache(maxsize=8)
def file_sha256(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a model file, once per file version (size and mtime are the cache key)."""
    from .downloads import sha256_of

    return sha256_of(Path(path))


def model_sha256(path: Optional[Path]) -> str:
    if path is None or not Path(path).is_file():
        return ""
    st = Path(path).stat()
    return file_sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _description(p: Provenance) -> str:
    fb = "facebridge"
    fields = [("software", p.software), ("model", p.model), ("modelSHA256", p.model_sha256),
              ("steps", str(p.steps)), ("sampler", p.sampler), ("seed", str(p.seed)),
              ("upscaler", p.upscaler or "none"), ("upscale", f"{p.upscale:g}"), ("restoredAt", p.restored_at)]
    items = []
    for r in p.regions:
        x, y, w, h = r.box
        ident = f"<{fb}:identityDistance>{r.identity:.4f}</{fb}:identityDistance>" if r.identity is not None else ""
        items.append(f'<rdf:li rdf:parseType="Resource"><{fb}:x>{x}</{fb}:x><{fb}:y>{y}</{fb}:y>'
                     f"<{fb}:w>{w}</{fb}:w><{fb}:h>{h}</{fb}:h>{ident}</rdf:li>")
    body = "".join(f"<{fb}:{k}>{escape(v)}</{fb}:{k}>" for k, v in fields)
    body += f"<{fb}:regions><rdf:Seq>{''.join(items)}</rdf:Seq></{fb}:regions>"
    ns = " ".join(f"xmlns:{k}={quoteattr(NS[k])}" for k in ("Iptc4xmpExt", "xmp", fb))
    return (f'<rdf:Description rdf:about="" {ns}>'
            f"<Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>"
            f"<xmp:CreatorTool>{escape(p.software)}</xmp:CreatorTool>"
            f"<xmp:MetadataDate>{p.restored_at}</xmp:MetadataDate>{body}</rdf:Description>")


def xmp_packet(p: Provenance, existing: Optional[bytes | str] = None) -> bytes:
    """An XMP packet with the provenance; an existing packet is extended (our Description added to its
    rdf:RDF), or, when it cannot be parsed, replaced by ours with its text kept in facebridge:previousXMP."""
    desc = _description(p)
    text = existing.decode("utf-8", "replace") if isinstance(existing, bytes) else existing
    if text:
        text = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip()
        end = text.rfind("</rdf:RDF>")
        if end >= 0 and _parses(text):
            return _wrap(text[:end] + desc + text[end:])
    rdf = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{NS["rdf"]}">{desc}</rdf:RDF></x:xmpmeta>'
    return _wrap(rdf)


def _wrap(body: str) -> bytes:
    return (f'<?xpacket begin="\ufeff" id="{PACKET_ID}"?>{body}<?xpacket end="w"?>').encode("utf-8")


def _parses(text: str) -> bool:
    try:
        ET.fromstring(text)
        return True
    except ET.ParseError:
        return False


def parse(xmp: Optional[bytes | str]) -> Optional[dict]:
    """FaceBridge's record in an XMP packet (the last one, if a file was restored twice), or None."""
    if not xmp:
        return None
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    text = re.sub(r"<\?xpacket[^>]*\?>", "", text).strip()
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    fb = "{" + NS["facebridge"] + "}"
    found = None
    for desc in root.iter("{" + NS["rdf"] + "}Description"):
        if desc.find(fb + "model") is None:
            continue
        rec = {child.tag[len(fb):]: (child.text or "") for child in desc if child.tag.startswith(fb)
               and child.tag != fb + "regions"}
        source = desc.find("{" + NS["Iptc4xmpExt"] + "}DigitalSourceType")
        rec["digitalSourceType"] = source.text if source is not None else ""
        rec["regions"] = [{k: float(v) if k == "identityDistance" else int(v)
                           for k, v in ((c.tag[len(fb):], c.text) for c in li)}
                          for li in desc.iter("{" + NS["rdf"] + "}li")]
        found = rec
    return found


def read_file_xmp(path: Path) -> Optional[bytes]:
    """The XMP packet of an image file, as its format stores it (read by Pillow)."""
    from PIL import Image

    from .io.images import xmp_of

    with Image.open(path) as im:
        return xmp_of(im)
