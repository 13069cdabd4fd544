//! WHERE and SELECT over one batch: stateless, columnar.

use arrow::array::RecordBatch;
use arrow::compute::filter_record_batch;
use arrow::datatypes::SchemaRef;

use super::Operator;
use crate::error::Result;
use crate::expr::Expr;

pub struct FilterProject {
    filter: Option<Expr>,
    projection: Vec<Expr>,
    schema: SchemaRef,
    /// The projection is the input's columns in order: pass batches through.
    identity: bool,
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
        FilterProject {
            filter,
            projection,
            schema,
            identity,
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
