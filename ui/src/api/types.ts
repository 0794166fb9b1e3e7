// The shapes of the API objects the dashboard reads (see openapi/openapi.json for the full documents).

export interface List<T> {
  object: 'list';
  data: T[];
  has_more?: boolean;
}

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'uploaded' | 'processed' | 'error';
  status_details: string | null;
  format: string | null;
  examples: number | null;
  characters: number | null;
  validation: { errors: { line: number | null; message: string }[]; error_count: number } | null;
}

export type JobStatus = 'validating_files' | 'queued' | 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';
export const FINAL_STATUSES: JobStatus[] = ['succeeded', 'failed', 'cancelled'];

export interface Job {
  id: string;
  object: 'fine_tuning.job';
  created_at: number;
  finished_at: number | null;
  error: { code: string; message: string; param: string | null } | null;
  fine_tuned_model: string | null;
  hyperparameters: { n_epochs: number; batch_size: number; learning_rate_multiplier: number };
  model: string;
  base_model: string;
  result_files: string[];
  seed: number;
  status: JobStatus;
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  estimated_finish: number | null;
  metadata: Record<string, string> | null;
  suffix: string | null;
  tuning: Record<string, unknown> & { method?: { type?: string } };
  progress: { step: number; total_steps: number | null };
}

export interface JobEvent {
  id: string;
  object: 'fine_tuning.job.event';
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  type: 'message' | 'metrics';
  data: Record<string, unknown>;
}

export interface Checkpoint {
  id: string;
  created_at: number;
  fine_tuned_model_checkpoint: string;
  step_number: number;
  metrics: Record<string, number | null>;
}

export interface TrainPoint {
  step: number;
  loss: number;
  accuracy: number | null;
  learning_rate: number | null;
  grad_norm: number | null;
  tokens_per_second: number | null;
}
export interface ValidationPoint {
  step: number;
  loss: number;
  accuracy: number | null;
  perplexity: number | null;
}
export type GenerationPoint = { step: number } & Record<string, number | null>;

export interface Metrics {
  total_steps: number | null;
  train: TrainPoint[];
  validation: ValidationPoint[];
  generation: GenerationPoint[];
}

export interface Model {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  base_model: string | null;
  method: string | null;
  artifact: 'base' | 'peft_lora' | 'ptuning_v2_prefix' | 'hf_model';
  architecture: string;
  context_length: number;
  parameters: number;
  trained_parameters: number | null;
  artifact_bytes: number | null;
  job_id: string | null;
  checkpoint_step: number | null;
}

export interface Artifact {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatChunk {
  choices: { index: number; delta: { role?: string; content?: string }; finish_reason: string | null }[];
}
