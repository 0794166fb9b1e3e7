// Which trainable tensors take weight decay. HF's Trainer leaves out biases and normalisation weights
// (get_decay_parameter_names); THUDM's names end in `layernorm.weight` for every RMSNorm, and
// `transformer.prefix_encoder.trans.N.bias` for the prefix MLP's biases. LoRA's lora_A/lora_B decay.
export function decaysByDefault(name: string): boolean {
  return !(name.endsWith('.bias') || name.endsWith('norm.weight'));
}
