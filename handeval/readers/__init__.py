"""Dataset readers: official on-disk layouts -> canonical sequence records."""

from handeval.util.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "DatasetReader": "base", "variant_tokens": "base", "READERS": "registry", "open_reader": "registry",
    "SourceError": "sources", "DexYCB": "dexycb", "HIC": "hic", "HO3D": "ho3d", "InterHand26M": "interhand26m",
})
