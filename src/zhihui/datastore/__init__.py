"""The datastore: departments' files (CSV/TSV in any Chinese encoding, XLSX/XLS, JSON, Parquet)
ingested into immutable, versioned Parquet; queried through the CKAN DataStore API and
/api/v1; downloaded in every format (Art. 14, 46, 48: the platform holds the data itself)."""
