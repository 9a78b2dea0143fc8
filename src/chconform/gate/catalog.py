"""What each table function, table engine, database engine and dictionary source of ClickHouse reaches.

Classified by meaning: a name is INSIDE when it only reads or writes what the engine holds (its
tables, dictionaries, generated data, its own parser), otherwise the value says what it reaches
outside (host files, disks, the network, processes, other servers). Every name the newest engine
lists in `system.table_functions`, `system.table_engines`, `system.database_engines` and
`system.dictionary_sources` is here: tests/conformance/test_gate_catalog.py fails when a release
adds a name nobody classified.
"""

from __future__ import annotations

__all__ = [
    "DATABASE_ENGINES",
    "DICTIONARY_SOURCES",
    "INSIDE",
    "TABLE_ENGINES",
    "TABLE_FUNCTIONS",
    "reach",
]

INSIDE = ""
_FILES = "host files"
_NET = "the network (object stores, URLs, other databases)"
_SERVERS = "other ClickHouse servers"
_EXEC = "processes and code outside SQL"

TABLE_FUNCTIONS: dict[str, str] = {
    # inside: generated rows, the engine's own tables, parser and explain output
    "SQLStandardValues": INSIDE, "values": INSIDE, "numbers": INSIDE, "numbers_mt": INSIDE, "zeros": INSIDE,
    "zeros_mt": INSIDE, "primes": INSIDE, "generateRandom": INSIDE, "generateSeries": INSIDE,
    "generate_series": INSIDE, "null": INSIDE, "view": INSIDE, "viewExplain": INSIDE, "viewIfPermitted": INSIDE,
    "merge": INSIDE, "loop": INSIDE, "dictionary": INSIDE, "format": INSIDE, "input": INSIDE, "fuzzJSON": INSIDE,
    "fuzzQuery": INSIDE, "mergeTreeIndex": INSIDE, "mergeTreeProjection": INSIDE, "mergeTreeAnalyzeIndexes": INSIDE,
    "mergeTreeAnalyzeIndexesUUID": INSIDE, "mergeTreeCodecBlockCounts": INSIDE, "mergeTreeTextIndex": INSIDE,
    "timeSeriesData": INSIDE, "timeSeriesMetrics": INSIDE, "timeSeriesTags": INSIDE, "timeSeriesSamples": INSIDE,
    "timeSeriesSelector": INSIDE, "timeSeriesMetricFamilies": INSIDE, "prometheusQuery": INSIDE,
    "prometheusQueryRange": INSIDE,
    # host files
    "file": _FILES, "fileCluster": _FILES, "filesystem": _FILES, "deltaLakeLocal": _FILES, "icebergLocal": _FILES,
    "icebergLocalCluster": _FILES, "paimonLocal": _FILES, "arrowstream": _FILES,
    # the network
    "url": _NET, "urlCluster": _NET, "s3": _NET, "s3Cluster": _NET, "gcs": _NET, "oss": _NET, "cosn": _NET,
    "azureBlobStorage": _NET, "azureBlobStorageCluster": _NET, "hdfs": _NET, "hdfsCluster": _NET, "mysql": _NET,
    "postgresql": _NET, "sqlite": _FILES, "mongodb": _NET, "redis": _NET, "jdbc": _NET, "odbc": _NET,
    "bigquery": _NET, "ytsaurus": _NET, "deltaLake": _NET, "deltaLakeAzure": _NET, "deltaLakeAzureCluster": _NET,
    "deltaLakeCluster": _NET, "deltaLakeS3": _NET, "deltaLakeS3Cluster": _NET, "hudi": _NET, "hudiCluster": _NET,
    "iceberg": _NET, "icebergAzure": _NET, "icebergAzureCluster": _NET, "icebergCluster": _NET, "icebergHDFS": _NET,
    "icebergHDFSCluster": _NET, "icebergS3": _NET, "icebergS3Cluster": _NET, "paimon": _NET, "paimonAzure": _NET,
    "paimonAzureCluster": _NET, "paimonCluster": _NET, "paimonHDFS": _NET, "paimonHDFSCluster": _NET,
    "paimonS3": _NET, "paimonS3Cluster": _NET,
    # other servers, processes
    "remote": _SERVERS, "remoteSecure": _SERVERS,
    # a cluster of the engine's own configuration (one local node in the sandbox), like Distributed
    "cluster": INSIDE, "clusterAllReplicas": INSIDE,
    "executable": _EXEC, "python": _EXEC, "eval": _EXEC,
}

TABLE_ENGINES: dict[str, str] = {
    # inside: data the engine keeps in its own directory or memory, or computes
    "MergeTree": INSIDE, "ReplacingMergeTree": INSIDE, "SummingMergeTree": INSIDE, "AggregatingMergeTree": INSIDE,
    "CollapsingMergeTree": INSIDE, "VersionedCollapsingMergeTree": INSIDE, "GraphiteMergeTree": INSIDE,
    "CoalescingMergeTree": INSIDE, "Memory": INSIDE, "Log": INSIDE, "TinyLog": INSIDE, "StripeLog": INSIDE,
    "Null": INSIDE, "Set": INSIDE, "Join": INSIDE, "Buffer": INSIDE, "Merge": INSIDE, "View": INSIDE,
    "MaterializedView": INSIDE, "Dictionary": INSIDE, "EmbeddedRocksDB": INSIDE, "GenerateRandom": INSIDE,
    "TimeSeries": INSIDE, "Alias": INSIDE, "FuzzJSON": INSIDE, "FuzzQuery": INSIDE, "Loop": INSIDE,
    # replicated tables coordinate through the Keeper and replicas the engine's own configuration names (the
    # statement names only a path inside it): the sandboxed engine has none, so they stay inside; every
    # production dump has them, so refusing them would refuse ordinary schemas
    "ReplicatedMergeTree": INSIDE, "ReplicatedReplacingMergeTree": INSIDE, "ReplicatedSummingMergeTree": INSIDE,
    "ReplicatedAggregatingMergeTree": INSIDE, "ReplicatedCollapsingMergeTree": INSIDE,
    "ReplicatedVersionedCollapsingMergeTree": INSIDE, "ReplicatedGraphiteMergeTree": INSIDE,
    "ReplicatedCoalescingMergeTree": INSIDE, "KeeperMap": INSIDE,
    # host files
    "File": _FILES, "FileLog": _FILES, "SQLite": _FILES, "DeltaLakeLocal": _FILES, "IcebergLocal": _FILES,
    "PaimonLocal": _FILES, "ArrowStream": _FILES,
    # the network
    "URL": _NET, "S3": _NET, "S3Queue": _NET, "GCS": _NET, "OSS": _NET, "COSN": _NET, "AzureBlobStorage": _NET,
    "AzureQueue": _NET, "HDFS": _NET, "Kafka": _NET, "MySQL": _NET, "PostgreSQL": _NET,
    "MaterializedPostgreSQL": _NET, "MongoDB": _NET, "Redis": _NET, "JDBC": _NET, "ODBC": _NET, "BigQuery": _NET,
    "YTsaurus": _NET, "DeltaLake": _NET, "DeltaLakeAzure": _NET, "DeltaLakeS3": _NET, "Hudi": _NET, "Iceberg": _NET,
    "IcebergAzure": _NET, "IcebergHDFS": _NET, "IcebergS3": _NET, "Paimon": _NET, "PaimonAzure": _NET,
    "PaimonHDFS": _NET, "PaimonS3": _NET,
    # other servers, processes
    # Distributed names a cluster of the engine's own config: the embedded engine declares each as one local
    # node (engines/server_defaults.py) with prefer_localhost_replica locked, so it reads its local table
    "Distributed": INSIDE, "Remote": _SERVERS, "RemoteSecure": _SERVERS,
    "Executable": _EXEC, "ExecutablePool": _EXEC, "QueryRunner": _EXEC,
}

DATABASE_ENGINES: dict[str, str] = {
    "Atomic": INSIDE, "Ordinary": INSIDE, "Memory": INSIDE, "Dictionary": INSIDE,
    "Replicated": INSIDE, "Filesystem": _FILES, "Backup": _FILES, "SQLite": _FILES, "S3": _NET, "HDFS": _NET,
    "URL": _NET, "MySQL": _NET, "PostgreSQL": _NET, "MaterializedPostgreSQL": _NET, "DataLakeCatalog": _NET,
    "Remote": _SERVERS, "RemoteSecure": _SERVERS,
}

# CLICKHOUSE is inside only with a local host and none of port / user / password (checked in decide.py).
DICTIONARY_SOURCES: dict[str, str] = {
    "null": INSIDE, "clickhouse": INSIDE,
    "file": _FILES, "yamlregexptree": _FILES, "executable": _EXEC, "executable_pool": _EXEC, "http": _NET,
    "mysql": _NET, "postgresql": _NET, "mongodb": _NET, "redis": _NET, "cassandra": _NET, "jdbc": _NET,
    "odbc": _NET, "ytsaurus": _NET,
}

_FOLDED = {id(table): {name.lower(): why for name, why in table.items()} for table in
           (TABLE_FUNCTIONS, TABLE_ENGINES, DATABASE_ENGINES, DICTIONARY_SOURCES)}


def reach(table: dict[str, str], name: str) -> str | None:
    """What `name` reaches ("" inside), None when the table does not know it; case-folded, so `FILE` is `file`."""
    exact = table.get(name)
    return exact if exact is not None else _FOLDED[id(table)].get(name.lower())
