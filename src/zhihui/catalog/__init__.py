"""The government information resource catalogue (政务信息资源目录, Art. 5, 7, 46, 48): every
data resource of every department with the national core metadata, its sharing and opening
types, versions and activity, and Chinese full-text search with facets."""
