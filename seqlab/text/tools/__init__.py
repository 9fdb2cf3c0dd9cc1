"""The classic text tools: statistics, language identification, ranked search and near-duplicates."""

from seqlab.text.tools.dups import DupPair, MinHasher, find_duplicates
from seqlab.text.tools.files import Document, read_documents, read_text
from seqlab.text.tools.langid import LanguageIdentifier, NGramConfig
from seqlab.text.tools.search import Hit, InvertedIndex
from seqlab.text.tools.stats import TextStats, text_stats

__all__ = ["Document", "DupPair", "Hit", "InvertedIndex", "LanguageIdentifier", "MinHasher", "NGramConfig",
           "TextStats", "find_duplicates", "read_documents", "read_text", "text_stats"]
