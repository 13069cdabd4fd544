//! WHERE and SELECT over one batch: stateless, columnar.

use std::sync::Arc;

use arrow::array::{ArrayRef, NullArray, RecordBatch, RecordBatchOptions};
use arrow::compute::{filter_record_batch, FilterBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::Operator;
use crate::error::Result;
use crate::expr::Expr;

pub struct FilterProject {
    filter: Option<Expr>,
    projection: Vec<Expr>,
    schema: SchemaRef,
    /// The projection is the input's columns in order: pass batches through.
    identity: bool,
    /// Filtering: the input's columns the projection reads (the others are
    /// not filtered, their place held by a NULL column of no data), and the
    /// input schema with those others typed NULL. None: all are read.
    pruned: Option<(Vec<bool>, SchemaRef)>,
}

impl FilterProject {
    pub fn new(
        filter: Option<Expr>,
        projection: Vec<Expr>,
        schema: SchemaRef,
        input: &SchemaRef,
    ) -> FilterProject {
        let identity = projection.len() == input.fields().len()
            && projection.iter().enumerate().all(|(i, e)| {
                matches!(e, Expr::Column { index, data_type } if *index == i && data_type == input.field(i).data_type())
            });
        let mut used = vec![false; input.fields().len()];
        for e in &projection {
            e.for_each_column(&mut |c| {
                if let Some(u) = used.get_mut(c) {
                    *u = true;
                }
            });
        }
        let pruned = (filter.is_some() && !identity && used.contains(&false)).then(|| {
            let fields: Vec<Field> = input
                .fields()
                .iter()
                .zip(&used)
                .map(|(f, &u)| {
                    if u {
                        f.as_ref().clone()
                    } else {
                        Field::new(f.name(), DataType::Null, true)
                    }
                })
                .collect();
            (used, Arc::new(Schema::new(fields)))
        });
        FilterProject {
            filter,
            projection,
            schema,
            identity,
            pruned,
        }
    }
}

impl Operator for FilterProject {
    fn process(&mut self, batch: &RecordBatch, out: &mut Vec<RecordBatch>) -> Result<()> {
        let filtered;
        let rows = match &self.filter {
            Some(f) => {
                let mask = f.eval_predicate(batch)?;
                if mask.true_count() == 0 {
                    return Ok(());
                }
                if mask.true_count() == batch.num_rows() {
                    batch
                } else if let Some((used, schema)) = &self.pruned {
                    // Only the columns the projection reads are filtered.
                    let f = FilterBuilder::new(&mask).optimize().build();
                    let n = mask.true_count();
                    let cols = batch
                        .columns()
                        .iter()
                        .zip(used)
                        .map(|(c, &u)| {
                            Ok(if u {
                                f.filter(c)?
                            } else {
                                Arc::new(NullArray::new(n)) as ArrayRef
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let opts = RecordBatchOptions::new().with_row_count(Some(n));
                    filtered = RecordBatch::try_new_with_options(schema.clone(), cols, &opts)?;
                    &filtered
                } else {
                    filtered = filter_record_batch(batch, &mask)?;
                    &filtered
                }
            }
            None => batch,
        };
        if rows.num_rows() == 0 {
            return Ok(());
        }
        if self.identity {
            out.push(RecordBatch::try_new(
                self.schema.clone(),
                rows.columns().to_vec(),
            )?);
            return Ok(());
        }
        let cols = self
            .projection
            .iter()
            .map(|e| e.eval(rows))
            .collect::<Result<Vec<_>>>()?;
        out.push(RecordBatch::try_new(self.schema.clone(), cols)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Float64Array, Int64Array, StringArray};

    use super::*;
    use crate::ops::query::tests::plan;

    #[test]
    fn filtering_only_the_columns_read_gives_the_same_rows() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("sym", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
            Field::new("vol", DataType::Int64, true),
            Field::new("ts", DataType::Int64, true),
        ]));
        let n = 300;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from_iter(
                    (0..n).map(|i| (i % 7 != 0).then(|| format!("s{}", i % 13))),
                )),
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| (i % 11 != 0).then_some(i as f64 * 0.5)),
                )),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i * 3 % 100))),
                Arc::new(Int64Array::from_iter_values(0..n)),
            ],
        )
        .unwrap();
        for (query, pruned) in [
            ("SELECT sym, price, vol FROM T WHERE price > 40.0", true),
            (
                "SELECT vol * 2 AS v, sym || '!' AS s FROM T WHERE vol % 3 = 1",
                true,
            ),
            ("SELECT 1 AS one FROM T WHERE ts > 100", true),
            ("SELECT ts FROM T WHERE sym LIKE 's1%'", true),
            ("SELECT sym, price, vol, ts FROM T WHERE vol < 50", false),
            ("SELECT ts, sym, price, vol FROM T WHERE vol < 50", false),
        ] {
            let p = plan(&format!("INSERT INTO O {query};"));
            let mut op = FilterProject::new(
                p.filter.clone(),
                p.projection.clone(),
                p.output_schema.clone(),
                &schema,
            );
            assert_eq!(op.pruned.is_some(), pruned, "{query}");
            let mut out = Vec::new();
            op.process(&batch, &mut out).unwrap();
            // The oracle: every column filtered, then the projection.
            let mask = p.filter.as_ref().unwrap().eval_predicate(&batch).unwrap();
            let all = filter_record_batch(&batch, &mask).unwrap();
            let cols: Vec<ArrayRef> = p.projection.iter().map(|e| e.eval(&all).unwrap()).collect();
            let want = RecordBatch::try_new_with_options(
                p.output_schema.clone(),
                cols,
                &RecordBatchOptions::new().with_row_count(Some(all.num_rows())),
            )
            .unwrap();
            assert!(want.num_rows() > 0 && want.num_rows() < n as usize, "{query}");
            assert_eq!(out, vec![want], "{query}");
        }
    }
}
