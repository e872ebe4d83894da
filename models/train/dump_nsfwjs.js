const fs=require('fs');
for (const [name, files] of [['mobilenet_v2',['group1-shard1of1']],['mobilenet_v2_mid',['group1-shard1of2','group1-shard2of2']]]) {
  const d='package/dist/models/'+name+'/';
  const m=require('./'+d+'model.min.js');
  fs.mkdirSync('tfjs/'+name,{recursive:true});
  fs.writeFileSync('tfjs/'+name+'/model.json', JSON.stringify(m));
  const bufs=files.map(f=>Buffer.from(require('./'+d+f+'.min.js'),'base64'));
  fs.writeFileSync('tfjs/'+name+'/weights.bin', Buffer.concat(bufs));
  console.log(name, Object.keys(m), bufs.map(b=>b.length));
}
