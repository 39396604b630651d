//! Bars handed over in memory: Arrow record batches from a front end (the Python package's
//! `data=`, a DataFrame's columns), read as a Parquet file's are: columns found by the same names,
//! the same type checks, the same row checks and bad-row reports, the same tick inference.
//!
//! A session takes them through [`frame_descriptor`], which stands for the configured `bars-csv`
//! feed (same name, version and capabilities, so plans and reports read the same) and builds
//! feeds that read the frame instead of the file.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::RecordBatch;
use tradsys_core::plugin::Dict;
use tradsys_core::plugin::{BuildError, Builder, ComponentDescriptor, Instance, LoadedComponent, ParamError, Plugin};

use crate::BarsCsvFeed;

/// Bars in memory, and what messages call them (`DataFrame`).
#[derive(Debug)]
pub struct BarFrame {
    name: String,
    batches: Vec<RecordBatch>,
}

impl BarFrame {
    /// A frame of `batches` (one schema), called `name` in messages.
    #[must_use]
    pub fn new(name: &str, batches: Vec<RecordBatch>) -> BarFrame {
        BarFrame { name: name.to_owned(), batches }
    }

    /// What messages call it.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its batches.
    #[must_use]
    pub fn batches(&self) -> &[RecordBatch] {
        &self.batches
    }
}

/// A descriptor standing for `feed` (the configured `bars-csv`'s) whose instances read `frame`:
/// its `path` is ignored, every other parameter means what it means for a file.
#[must_use]
pub fn frame_descriptor(feed: &Arc<ComponentDescriptor>, frame: Arc<BarFrame>) -> Arc<ComponentDescriptor> {
    let mut descriptor = ComponentDescriptor::clone(feed);
    descriptor.file_params = Cow::Borrowed(&[]);
    descriptor.builder = Builder::Loaded(Arc::new(FrameBuilder { frame }));
    Arc::new(descriptor)
}

/// Builds `bars-csv` feeds that read a frame.
#[derive(Debug)]
struct FrameBuilder {
    frame: Arc<BarFrame>,
}

impl LoadedComponent for FrameBuilder {
    fn default_params(&self) -> Result<Dict, ParamError> {
        tradsys_core::plugin::default_params::<BarsCsvFeed>()
    }

    fn check_params(&self, params: &Dict) -> Result<(), ParamError> {
        tradsys_core::plugin::decode_params::<BarsCsvFeed>(&self.with_path(params)).map(drop)
    }

    fn build(&self, params: &Dict) -> Result<Instance, BuildError> {
        let params = tradsys_core::plugin::decode_params::<BarsCsvFeed>(&self.with_path(params))?;
        let mut feed = BarsCsvFeed::build(params)?;
        feed.frame = Some(Arc::clone(&self.frame));
        Ok(Instance::Feed(Box::new(feed)))
    }
}

impl FrameBuilder {
    /// `params` with `path` naming the frame (what the feed's messages start with).
    fn with_path(&self, params: &Dict) -> Dict {
        let mut params = params.clone();
        params.insert("path".to_owned(), figment::value::Value::from(self.frame.name.clone()));
        params
    }
}
